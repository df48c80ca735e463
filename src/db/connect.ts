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
  const pinned = pinSearchPath(url);
  const pool = new pg.Pool({
    connectionString: pinned.connectionString,
    // Sent at connection start-up, so it holds for every pooled connection and overrides role/database settings.
    options: pinned.options,
    max: options.max ?? 4,
    application_name: options.applicationName ?? 'phasectl',
    connectionTimeoutMillis: 10_000,
  });
  // An idle client that dies (server restart) must not crash the process.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await requirePinnedSearchPath(client, url);
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error instanceof RuntimeFailure ? error : connectionFailure(url, error);
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

/**
 * Every session phasectl opens resolves unqualified names in `pg_catalog` (then `pg_temp`) only: a function or
 * operator planted in `public` or any other schema (e.g. `public.=(mood, mood)`, `public.unnest(int2[])`) can
 * never be picked over the built-in one, by our queries or by the definitions PostgreSQL binds while we run
 * DDL. Sent as the start-up `options` (`-c search_path=…`), after any `options` the URL or PGOPTIONS carry.
 */
export const PINNED_SEARCH_PATH = 'pg_catalog,pg_temp';

/**
 * Every transaction of a phasectl session runs at READ COMMITTED, whatever the role or database sets
 * (`ALTER DATABASE … SET default_transaction_isolation = 'serializable'`, common where the application runs
 * serializable): the backfill relies on READ COMMITTED's re-check of a row another transaction changed, each
 * verification batch is one statement, and the guards read after they lock. At SERIALIZABLE a read-only verification
 * batch was cancelled with 40001 ("conflict out to pivot") under the application's writes, and `migrate` stopped in
 * phase 2 or 3 with "fix the cause". The space is escaped for the server's option splitting.
 */
const PINNED_ISOLATION = '-c default_transaction_isolation=read\\ committed';

export function pinSearchPath(url: string): { connectionString: string; options: string } {
  const pin = `-c search_path=${PINNED_SEARCH_PATH} ${PINNED_ISOLATION}`;
  let connectionString = url;
  let own = process.env.PGOPTIONS ?? '';
  try {
    const parsed = new URL(url);
    const fromUrl = parsed.searchParams.get('options');
    if (fromUrl !== null) {
      // pg lets the URL's options replace ours: take them out and send them first (the last -c wins).
      own = fromUrl;
      parsed.searchParams.delete('options');
      connectionString = parsed.toString();
    }
  } catch {
    // Not a URL (a socket path): pg reads no options from it.
  }
  return { connectionString, options: own.trim() === '' ? pin : `${own.trim()} ${pin}` };
}

/** Fails closed when something between us and the server (a pooler) dropped the start-up search_path. */
async function requirePinnedSearchPath(client: pg.ClientBase, url: string): Promise<void> {
  const { rows } = await client.query<{ search_path: string }>(`SELECT pg_catalog.current_setting('search_path') AS search_path`);
  const actual = rows[0]?.search_path ?? '';
  if (actual.replace(/\s+/g, '') !== PINNED_SEARCH_PATH) {
    throw new RuntimeFailure(`the session at ${describeTarget(url)} has search_path "${actual}", not ${PINNED_SEARCH_PATH.replace(',', ', ')}`, {
      hint: 'phasectl sets it with the start-up option -c search_path=pg_catalog,pg_temp; connect directly to PostgreSQL, not through a pooler that drops start-up options',
    });
  }
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
