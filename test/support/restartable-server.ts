import { spawn, type ChildProcess } from 'node:child_process';
import { access, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { embeddedBinaries, serverEnvironment, type EmbeddedServer } from '../../src/db/embedded-cluster.js';

/**
 * Stops and restarts the postmaster of an embedded test server in place (same data directory and port), for tests of
 * a server that goes away during a run. `server.stop()` afterwards still removes the cluster: call `stop()` here first.
 */
export function restartable(server: EmbeddedServer, major: number) {
  const dataDir = join(server.directory, 'data');
  let restarted: ChildProcess | undefined;
  return {
    /** Fast shutdown of the running postmaster; resolves once it is gone. */
    async stop(): Promise<void> {
      const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(pid, 'SIGINT');
      for (let i = 0; i < 600 && alive(pid); i++) await new Promise((r) => setTimeout(r, 50));
      restarted = undefined;
    },
    /** Starts the postmaster again on the same directory and port; resolves once it accepts connections. */
    async start(): Promise<void> {
      const copied = join(server.directory, 'native');
      const native = (await access(join(copied, 'bin', 'postgres')).then(
        () => true,
        () => false,
      ))
        ? copied
        : await embeddedBinaries(major);
      const owner = await stat(dataDir);
      const root = typeof process.getuid === 'function' && process.getuid() === 0;
      restarted = spawn(
        join(native, 'bin', 'postgres'),
        [
          '-D',
          dataDir,
          '-p',
          String(server.port),
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          `unix_socket_directories=${join(server.directory, 'socket')}`,
          '-c',
          'max_connections=200',
          '-c',
          'fsync=off',
        ],
        {
          env: serverEnvironment(),
          stdio: 'ignore',
          ...(root ? { uid: owner.uid, gid: owner.gid } : {}),
        },
      );
      for (let i = 0; ; i++) {
        const client = new pg.Client({ connectionString: server.url });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.end();
          return;
        } catch (error) {
          if (i > 400) throw error;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    },
    /** Stops a postmaster this helper started (the original one is stopped by `server.stop()`). */
    async dispose(): Promise<void> {
      if (restarted && restarted.exitCode === null) await this.stop().catch(() => undefined);
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
