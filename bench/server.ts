import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.js';
import { withDatabase } from '../src/db/url.js';

/**
 * Durable settings for the benchmark's own server: every commit is flushed (fsync, synchronous_commit,
 * full_page_writes on), as on a production primary. shared_buffers and max_wal_size are raised from the
 * tiny defaults so a 1M-row rewrite is not dominated by forced checkpoints — the same for every contender.
 */
export const DURABLE_SETTINGS: Record<string, string> = {
  fsync: 'on',
  synchronous_commit: 'on',
  full_page_writes: 'on',
  shared_buffers: '512MB',
  max_wal_size: '4GB',
  max_connections: '50',
};

/** The settings printed with the results (read back from the server, not assumed). */
const REPORTED_SETTINGS = [
  'server_version',
  'fsync',
  'synchronous_commit',
  'full_page_writes',
  'wal_level',
  'shared_buffers',
  'max_wal_size',
  'checkpoint_timeout',
  'autovacuum',
  'work_mem',
];

export interface BenchServer {
  /** Maintenance URL (password inside: print only through redactUrl). */
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** Starts an embedded PostgreSQL 17 with DURABLE_SETTINGS, or uses the server at `databaseUrl`. */
export async function openBenchServer(databaseUrl: string | undefined): Promise<BenchServer> {
  if (databaseUrl) return { url: databaseUrl, embedded: false, stop: async () => undefined };
  const server: EmbeddedServer = await startEmbeddedPostgres({ settings: DURABLE_SETTINGS });
  return { url: server.url, embedded: true, stop: () => server.stop() };
}

/** The server's version and the settings that shape the figures. */
export async function serverSettings(url: string): Promise<Record<string, string>> {
  return await withClient(url, async (client) => {
    const settings: Record<string, string> = {};
    for (const name of REPORTED_SETTINGS) {
      const { rows } = await client.query<Record<string, string>>(`SHOW ${name}`);
      settings[name] = Object.values(rows[0] ?? {})[0] ?? '';
    }
    return settings;
  });
}

/** A fresh database for one measurement (isolates phasectl's state schema and the table's history). */
export async function createBenchDatabase(
  serverUrl: string,
  label: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `phasectl_bench_${label}_${randomBytes(3).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  return {
    url: withDatabase(serverUrl, name),
    drop: () =>
      withClient(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(
        () => undefined,
      ),
  };
}

/** Runs `work` on a fresh client that is always closed. */
export async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'phasectl-bench' });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
