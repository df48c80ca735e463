import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The CLI as a user runs it: `node bin/phasectl.js …`, which runs the compiled dist/ (`npm run build`;
 * `npm test` and `npm run test:matrix` build first). A dist/ older than src/ would test yesterday's code,
 * so the first call refuses to run against it.
 */
export const repoRoot = resolve(import.meta.dirname, '../..');
export const phasectlBin = join(repoRoot, 'bin/phasectl.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** Output so far. */
  output(): { stdout: string; stderr: string };
  result: Promise<CliResult>;
}

let checked = false;

/** Throws when the CLI bin/phasectl.js runs (dist/cli.bundle.js) is missing or older than a file under src/. */
export function requireBuiltCli(): void {
  if (checked) return;
  const built = join(repoRoot, 'dist/cli.bundle.js');
  let builtAt: number;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    throw new Error(`${built} is missing: run \`npm run build\` before the e2e tests (\`npm test\` does)`);
  }
  const newest = newestMtime(join(repoRoot, 'src'));
  if (newest.mtime > builtAt) {
    throw new Error(
      `dist/ is older than ${newest.file}: run \`npm run build\` before the e2e tests (\`npm test\` does)`,
    );
  }
  checked = true;
}

function newestMtime(dir: string): { file: string; mtime: number } {
  let best = { file: dir, mtime: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const candidate = entry.isDirectory() ? newestMtime(path) : { file: path, mtime: statSync(path).mtimeMs };
    if (candidate.mtime > best.mtime) best = candidate;
  }
  return best;
}

/**
 * Starts `node bin/phasectl.js <args>` in `cwd` (default the repository). DATABASE_URL and PHASECTL_RELEASE
 * are cleared unless `env` sets them, so a developer's environment never leaks into a test.
 */
export function startPhasectl(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): RunningCli {
  requireBuiltCli();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: undefined,
    PHASECTL_RELEASE: undefined,
    NO_COLOR: '',
    FORCE_COLOR: undefined,
    ...options.env,
  };
  for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
  const child = spawn(process.execPath, [phasectlBin, ...args], {
    cwd: options.cwd ?? repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  const result = new Promise<CliResult>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
  return { child, output: () => ({ stdout, stderr }), result };
}

/** Runs `node bin/phasectl.js <args>` to completion. */
export function phasectl(
  args: string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<CliResult> {
  return startPhasectl(args, options).result;
}

/** The JSON events of a `--json` run (one object per line). */
export function jsonEvents(stdout: string): Array<Record<string, unknown> & { type: string }> {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown> & { type: string });
}
