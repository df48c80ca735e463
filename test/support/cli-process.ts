import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const entry = resolve('test/support/fixtures-cli.ts');
// Absolute, so the CLI can run with another working directory.
const tsx = import.meta.resolve('tsx');

/** Runs the phasectl CLI from source as a child process (node --import tsx test/support/fixtures-cli.ts <args…>). */
/** `cwd`: the project for commands without --project (plan, advance, generate). */
export function runCli(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, entry, ...args], { env: { ...process.env, ...env }, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += String(chunk)));
    child.stderr.on('data', (chunk) => (stderr += String(chunk)));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
