import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { embeddedBinaries, freePort, serverEnvironment } from '../../src/db/embedded-cluster.js';

/**
 * A primary and a physical streaming replica of it (pg_basebackup -R), for the replica-lag throttle. The
 * binaries: the embedded package's when they include pg_basebackup, else the machine's own server binaries
 * (`pg_config --bindir`). `skipReason` says why none could be used.
 */
export interface StreamingPair {
  primaryUrl: string;
  replicaUrl: string;
  stop(): Promise<void>;
}

export async function serverBinaries(): Promise<{ bin?: string; skipReason?: string }> {
  const needed = ['initdb', 'postgres', 'pg_basebackup'];
  const embedded = join(await embeddedBinaries(), 'bin');
  if (needed.every((tool) => existsSync(join(embedded, tool)))) return { bin: embedded };
  let system: string | undefined;
  try {
    system = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    return { skipReason: `no pg_basebackup among the embedded binaries (${embedded}) and no pg_config on PATH` };
  }
  const missing = needed.filter((tool) => !existsSync(join(system, tool)));
  return missing.length ? { skipReason: `${missing.join(', ')} missing in ${system}` } : { bin: system };
}

export async function startStreamingPair(bin: string): Promise<StreamingPair> {
  const root = await mkdtemp(join(tmpdir(), 'phasectl-replica-'));
  const runAs = process.getuid?.() === 0 ? osUser('postgres') : undefined;
  if (runAs) await chown(root, runAs.uid, runAs.gid);
  const env = serverEnvironment();
  const tool = (name: string, args: string[]) =>
    execFileSync(join(bin, name), args, { env, stdio: 'pipe', ...(runAs ?? {}) });
  const servers: ChildProcess[] = [];
  const start = (dataDir: string, port: number, settings: Record<string, string>) => {
    const flags = Object.entries({
      listen_addresses: '127.0.0.1',
      unix_socket_directories: root,
      fsync: 'off',
      ...settings,
    }).flatMap(([k, v]) => ['-c', `${k}=${v}`]);
    const child = spawn(join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), ...flags], {
      env,
      stdio: 'ignore',
      ...(runAs ?? {}),
    });
    servers.push(child);
  };
  const stop = async () => {
    for (const server of servers.reverse()) {
      if (server.exitCode !== null) continue;
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGINT'); // fast shutdown
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    }
    await rm(root, { recursive: true, force: true });
  };
  try {
    const primaryDir = join(root, 'primary');
    const replicaDir = join(root, 'replica');
    tool('initdb', ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C']);
    const primaryPort = await freePort();
    start(primaryDir, primaryPort, {});
    const primaryUrl = `postgres://postgres@127.0.0.1:${primaryPort}/postgres`;
    await ready(primaryUrl);
    tool('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(primaryPort),
      '-U',
      'postgres',
      '-D',
      replicaDir,
      '-R',
      '-X',
      'stream',
    ]);
    const replicaPort = await freePort();
    // Reports its replay position every second, so the primary's replay_lag follows a paused replay quickly;
    // cluster_name is the walreceiver's application_name.
    start(replicaDir, replicaPort, {
      hot_standby: 'on',
      wal_receiver_status_interval: '1',
      cluster_name: 'test-replica',
    });
    const replicaUrl = `postgres://postgres@127.0.0.1:${replicaPort}/postgres`;
    await ready(replicaUrl);
    await waitUntil(
      async () =>
        (await once(primaryUrl, `SELECT count(*)::int AS n FROM pg_stat_replication WHERE state = 'streaming'`))[0]
          ?.n === 1,
    );
    return { primaryUrl, replicaUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function once(url: string, sql: string): Promise<Array<Record<string, unknown>>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

async function ready(url: string): Promise<void> {
  await waitUntil(async () => (await once(url, 'SELECT 1 AS ok').catch(() => []))[0]?.ok === 1);
}

async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('streaming replica: timed out');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function osUser(name: string): { uid: number; gid: number } {
  return {
    uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8' })),
    gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8' })),
  };
}
