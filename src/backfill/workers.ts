import { connect, type Connection } from '../db/connect.js';
import type { WorkerConnection } from './parallel.js';

/**
 * Connections for the workers of a parallel backfill or verify: one pool of `jobs` connections to `databaseUrl`,
 * opened on first use (a run with one job opens none). `close` ends the pool.
 */
export function workerPool(
  databaseUrl: string,
  jobs: number,
  applicationName: string,
): { open: () => Promise<WorkerConnection>; close: () => Promise<void> } {
  let pool: Promise<Connection> | undefined;
  return {
    async open() {
      pool ??= connect(databaseUrl, { max: jobs, applicationName: `${applicationName} worker` });
      const client = await (await pool).pool.connect();
      // A worker whose backend is terminated emits 'error'; its pending query rejects with the same error.
      client.on('error', () => undefined);
      return {
        client,
        async release() {
          // Destroyed, not pooled: session settings and the batch's state go with the backend.
          client.release(true);
        },
      };
    },
    async close() {
      if (pool) await (await pool).close();
    },
  };
}
