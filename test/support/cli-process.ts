import { phasectl } from './cli.js';

/**
 * Shorthands over test/support/cli.ts (the built CLI, `node bin/phasectl.js`, as a user runs it) for tests that
 * pass the working directory and environment positionally.
 */

/** Runs the CLI in `cwd` (exit code, stdout, stderr). */
export async function phasectlProcess(
  cwd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { code, stdout, stderr } = await phasectl(args, { cwd, env });
  return { code, stdout, stderr };
}

/** Runs the CLI; `cwd`: the project for commands without --project (plan, advance, generate). */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return await phasectlProcess(cwd ?? process.cwd(), args, env);
}
