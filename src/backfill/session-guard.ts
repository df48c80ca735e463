import type pg from 'pg';

/**
 * Runs `work` with two session settings that keep a backfill or a verification honest, then restores them:
 *
 * - `row_security = off`: a query that row-level security would filter fails instead of silently skipping
 *   rows (the owner bypasses RLS unless FORCE ROW LEVEL SECURITY; any other role without BYPASSRLS does not).
 *   A skipped row would pass verification and lose its value when phase 3 drops the old column.
 * - `search_path = pg_catalog, pg_temp` (as every session phasectl opens itself, src/db/connect.ts; this covers a
 *   session the library API was given): the operators of `IS DISTINCT FROM` and the key comparisons resolve to
 *   the built-in ones. Putting pg_catalog first is not enough: an exact-type look-alike elsewhere on the path
 *   (`public.=(mood, mood)`) beats the built-in polymorphic one (`anyenum = anyenum`) whatever the order.
 */
export async function withGuardedSession<T>(session: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  const { rows } = await session.query<{ search_path: string; row_security: string }>(
    `SELECT pg_catalog.current_setting('search_path') AS search_path, pg_catalog.current_setting('row_security') AS row_security`,
  );
  const saved = rows[0]!;
  await session.query(
    `SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false), pg_catalog.set_config('row_security', 'off', false)`,
  );
  try {
    return await work();
  } finally {
    await session
      .query(
        `SELECT pg_catalog.set_config('search_path', $1, false), pg_catalog.set_config('row_security', $2, false)`,
        [saved.search_path, saved.row_security],
      )
      .catch(() => undefined);
  }
}
