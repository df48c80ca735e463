import type pg from 'pg';

/** Session settings of the walk: name → value to set, from the value the session had (see withGuardedSession). */
const WALK_SETTINGS: Record<string, (current: string) => string> = {
  search_path: () => 'pg_catalog, pg_temp',
  row_security: () => 'off',
  extra_float_digits: (current) => exactFloatDigits(current),
  // ISO output only (the DMY/MDY input order stays): dates and times print with numeric zone offsets.
  DateStyle: () => 'ISO',
  IntervalStyle: () => 'postgres',
};

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
 * - `DateStyle = ISO`, `IntervalStyle = postgres`: keys print in forms that read back as the same value. Under
 *   DateStyle SQL or Postgres a timestamptz prints its zone's abbreviation, and some read back as another zone
 *   (Asia/Kolkata prints IST, read as Israel time: 3 h 30 later), so batches would skip rows. An `--up` that turns
 *   dates into text prints them in ISO in the backfill and verify too.
 */
export async function withGuardedSession<T>(session: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  const names = Object.keys(WALK_SETTINGS);
  const { rows } = await session.query<{ values: string[] }>(
    `SELECT ARRAY(SELECT pg_catalog.current_setting(name) FROM pg_catalog.unnest($1::text[]) WITH ORDINALITY AS n(name, i) ORDER BY i) AS values`,
    [names],
  );
  const saved = rows[0]!.values;
  await setAll(
    session,
    names,
    names.map((name, i) => WALK_SETTINGS[name]!(saved[i]!)),
  );
  try {
    return await work();
  } finally {
    await setAll(session, names, saved).catch(() => undefined);
  }
}

/** Sets each setting of `names` to its value of `values` for the session, in one round trip. */
async function setAll(session: pg.ClientBase, names: string[], values: string[]): Promise<void> {
  await session.query(
    `SELECT pg_catalog.set_config(name, value, false) FROM ROWS FROM (pg_catalog.unnest($1::text[]), pg_catalog.unnest($2::text[])) AS s(name, value)`,
    [names, values],
  );
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
