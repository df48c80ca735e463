import type pg from 'pg';

/**
 * Runs `work` with the session settings that keep a backfill or a verification honest, then restores them:
 *
 * - `row_security = off`: a query that row-level security would filter fails instead of silently skipping
 *   rows (the owner bypasses RLS unless FORCE ROW LEVEL SECURITY; any other role without BYPASSRLS does not).
 *   A skipped row would pass verification and lose its value when phase 3 drops the old column.
 * - `search_path = pg_catalog, pg_temp` (as every session phasectl opens itself, src/db/connect.ts; this covers a
 *   session the library API was given): the operators of `IS DISTINCT FROM` and the key comparisons resolve to
 *   the built-in ones. Putting pg_catalog first is not enough: an exact-type look-alike elsewhere on the path
 *   (`public.=(mood, mood)`) beats the built-in polymorphic one (`anyenum = anyenum`) whatever the order.
 * - `extra_float_digits` at least 1 (exactFloatDigits below): keys travel as text, and a float key
 *   printed with fewer digits comes back as another number, so the walk would stop short of the last row.
 */
export async function withGuardedSession<T>(session: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  const { rows } = await session.query<{ search_path: string; row_security: string; extra_float_digits: string }>(
    `SELECT pg_catalog.current_setting('search_path') AS search_path, pg_catalog.current_setting('row_security') AS row_security,
            pg_catalog.current_setting('extra_float_digits') AS extra_float_digits`,
  );
  const saved = rows[0]!;
  await session.query(
    `SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false), pg_catalog.set_config('row_security', 'off', false),
            pg_catalog.set_config('extra_float_digits', $1, false)`,
    [exactFloatDigits(saved.extra_float_digits)],
  );
  try {
    return await work();
  } finally {
    await session
      .query(
        `SELECT pg_catalog.set_config('search_path', $1, false), pg_catalog.set_config('row_security', $2, false),
                pg_catalog.set_config('extra_float_digits', $3, false)`,
        [saved.search_path, saved.row_security, saved.extra_float_digits],
      )
      .catch(() => undefined);
  }
}

/**
 * The session's `extra_float_digits`, raised to 1 when lower. From 1 up (the default), PostgreSQL 12+ prints
 * floats in the shortest form that reads back as the same number; 0 and below round them to 15 (float8) or 6
 * (float4) significant digits, so `key <= '<printed max>'` leaves out the real maximum. Only a lossy setting
 * (a role's or database's `SET extra_float_digits = 0`, `PGOPTIONS`) is changed. Pure.
 */
export function exactFloatDigits(current: string): string {
  const digits = Number.parseInt(current, 10);
  return Number.isFinite(digits) && digits >= 1 ? current : '1';
}
