import pg from 'pg';
import { connect, type Connection } from '../db/connect.js';
import { requireSupportedServer } from './server-version.js';

/**
 * A run's database handles: `session` is one pinned connection that holds the advisory lock and
 * runs every file and batch (session settings and locks must stay on one backend); `monitor` is a
 * second, short-lived connection for looking at pg_locks / pg_stat_activity while `session` waits.
 */
export interface RunSession {
  session: pg.PoolClient;
  connection: Connection;
  /** A query on a connection other than `session` (best effort, for diagnostics). */
  monitor<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /**
   * The search_path this role gets without phasectl's pin (role, database and URL settings), for the SQL files
   * phasectl did not generate: they were written for it. Read once, on a short connection of its own.
   */
  userSearchPath(): Promise<string>;
  close(): Promise<void>;
}

/** Opens the pool (one clear line if the server is unreachable) and pins one session. */
export async function openSession(databaseUrl: string, applicationName = 'phasectl'): Promise<RunSession> {
  const connection = await connect(databaseUrl, { max: 3, applicationName });
  let session: pg.PoolClient;
  try {
    session = await connection.pool.connect();
  } catch (error) {
    await connection.close();
    throw error;
  }
  // A checked-out client whose backend is terminated emits 'error'; the pending query rejects
  // with the same error, which is what we report. Without a listener node would crash.
  session.on('error', () => undefined);
  try {
    await requireSupportedServer(session);
  } catch (error) {
    session.release(true);
    await connection.close();
    throw error;
  }
  let closed = false;
  let userSearchPath: Promise<string> | undefined;
  return {
    session,
    connection,
    userSearchPath() {
      userSearchPath ??= readUnpinnedSearchPath(databaseUrl, applicationName);
      return userSearchPath;
    },
    async monitor(sql, params) {
      const result = await connection.pool.query(sql, params as unknown[]);
      return result.rows;
    },
    async close() {
      if (closed) return;
      closed = true;
      // Destroy rather than return to the pool: the backend goes away with its session locks.
      session.release(true);
      await connection.close();
    },
  };
}

async function readUnpinnedSearchPath(databaseUrl: string, applicationName: string): Promise<string> {
  const probe = new pg.Client({
    connectionString: databaseUrl,
    application_name: applicationName,
    connectionTimeoutMillis: 10_000,
  });
  probe.on('error', () => undefined);
  await probe.connect();
  try {
    const { rows } = await probe.query<{ path: string }>(`SELECT pg_catalog.current_setting('search_path') AS path`);
    return rows[0]!.path;
  } finally {
    await probe.end().catch(() => undefined);
  }
}
