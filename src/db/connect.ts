import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import { checkDatabaseUrl, describeTarget } from './url.js';

/** A pool plus a kysely instance over it. Only runner/, backfill/ and catalog/ hold these. */
export interface Connection {
  pool: pg.Pool;
  // phasectl's own tables are few and read with raw `sql` templates; no generated schema types.
  db: Kysely<any>;
  url: string;
  close(): Promise<void>;
}

/**
 * Opens a pool and checks the server answers, turning driver failures into one clear line
 * (host:port/database and the driver's reason, never the password).
 */
export async function connect(url: string, options: { max?: number; applicationName?: string } = {}): Promise<Connection> {
  checkDatabaseUrl(url);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 4,
    application_name: options.applicationName ?? 'phasectl',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that dies (server restart) must not crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw connectionFailure(url, error);
  }
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    pool,
    db,
    url,
    async close() {
      if (closed) return;
      closed = true;
      // kysely only ends the pool if it used it: end it ourselves so no idle client keeps the process alive.
      await db.destroy().catch(() => undefined);
      if (!pool.ended) await pool.end().catch(() => undefined);
    },
  };
}

/** One-line error for a server we cannot reach or log into. */
export function connectionFailure(url: string, error: unknown): RuntimeFailure {
  const reason = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string } | undefined)?.code;
  const hint =
    code === '28P01' || code === '28000'
      ? 'check the user and password in the database URL'
      : code === '3D000'
        ? 'create the database first, or fix its name in the URL'
        : 'check that PostgreSQL is running and the host, port and database in the URL are right';
  return new RuntimeFailure(`cannot connect to PostgreSQL at ${describeTarget(url)}: ${reason.replace(/postgres(?:ql)?:\/\/\S+/g, '(url)')}`, {
    hint,
    cause: error,
  });
}
