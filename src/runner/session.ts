import type pg from 'pg';
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
  return {
    session,
    connection,
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
