import type pg from 'pg';

/**
 * Runs `work` with two session settings that keep a backfill or a verification honest, then restores them:
 *
 * - `row_security = off`: a query that row-level security would filter fails instead of silently skipping
 *   rows (the owner bypasses RLS unless FORCE ROW LEVEL SECURITY; any other role without BYPASSRLS does not).
 *   A skipped row would pass verification and lose its value when phase 3 drops the old column.
 * - `pg_catalog` first in `search_path`: the operators of `IS DISTINCT FROM` and the key comparisons resolve to
 *   the built-in ones, not to look-alikes planted in a schema listed earlier (e.g. `public, pg_catalog`).
 *   The rest of the path stays, so the application's own triggers still find their tables.
 */
export async function withGuardedSession<T>(session: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  const { rows } = await session.query<{ search_path: string; row_security: string }>(
    `SELECT pg_catalog.current_setting('search_path') AS search_path, pg_catalog.current_setting('row_security') AS row_security`,
  );
  const saved = rows[0]!;
  await session.query(`SELECT pg_catalog.set_config('search_path', $1, false), pg_catalog.set_config('row_security', 'off', false)`, [
    catalogFirst(saved.search_path),
  ]);
  try {
    return await work();
  } finally {
    await session
      .query(`SELECT pg_catalog.set_config('search_path', $1, false), pg_catalog.set_config('row_security', $2, false)`, [saved.search_path, saved.row_security])
      .catch(() => undefined);
  }
}

/** `public, pg_catalog` → `pg_catalog, public`; a path that starts with pg_catalog is kept as it is. Pure. */
export function catalogFirst(searchPath: string): string {
  const entries = searchPath
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const rest = entries.filter((entry) => entry !== 'pg_catalog' && entry !== '"pg_catalog"');
  return ['pg_catalog', ...rest].join(', ');
}
