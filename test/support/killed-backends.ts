import type pg from 'pg';

/**
 * A killed client's backend lives on until the server notices the closed socket, holding its session advisory
 * lock (a resume right away is then refused as "already running"): wait until no other session holds one.
 */
export async function killedBackendsGone(client: pg.Client): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await client.query(
      `SELECT count(*)::int AS n FROM pg_catalog.pg_locks WHERE locktype = 'advisory' AND pid <> pg_catalog.pg_backend_pid() AND database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())`,
    );
    if (rows[0].n === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('a killed session still holds its advisory lock after 10 s');
}
