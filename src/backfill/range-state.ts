import type pg from 'pg';
import type { BackfillPlan } from '../operations/types.js';
import type { KeyRange } from './key-range.js';

type ProgressOwner = Pick<BackfillPlan, 'changeId' | 'direction'>;

/**
 * The state of a parallel backfill, beside `phasectl.backfills` (created only once a backfill runs with more
 * than one job or is throttled): one progress row per key range, and the current pause of a throttled backfill.
 * Both reference the change's backfill row ON DELETE CASCADE, so a rollback (which deletes that row) or a repair
 * takes its ranges and pause with it.
 */
const rangeStateSql = `
CREATE TABLE IF NOT EXISTS phasectl.backfill_ranges (
  change_id text NOT NULL, direction text NOT NULL, range_no int NOT NULL, after_key jsonb, upper_key jsonb NOT NULL,
  last_key jsonb, rows_done bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,
  PRIMARY KEY (change_id, direction, range_no),
  FOREIGN KEY (change_id, direction) REFERENCES phasectl.backfills (change_id, direction) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS phasectl.backfill_pauses (
  change_id text NOT NULL, direction text NOT NULL, reason text NOT NULL, since timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (change_id, direction),
  FOREIGN KEY (change_id, direction) REFERENCES phasectl.backfills (change_id, direction) ON DELETE CASCADE);
`;

/** Whether the range tables exist (a database no parallel or throttled backfill ever ran on has none). */
export async function hasRangeState(session: pg.ClientBase): Promise<boolean> {
  const { rows } = await session.query<{ n: string }>(
    `SELECT pg_catalog.count(*) AS n FROM pg_catalog.pg_tables
      WHERE schemaname OPERATOR(pg_catalog.=) 'phasectl' AND tablename OPERATOR(pg_catalog.=) ANY ('{backfill_ranges,backfill_pauses}'::pg_catalog.name[])`,
  );
  return rows[0]?.n === '2';
}

/** Creates the range tables when missing, in one short transaction that fails fast on a lock. */
export async function ensureRangeState(session: pg.ClientBase): Promise<void> {
  if (await hasRangeState(session)) return;
  await session.query('BEGIN');
  try {
    await session.query(`SET LOCAL lock_timeout = '5s'`);
    await session.query(`SELECT pg_catalog.pg_advisory_xact_lock(1885888884)`);
    await session.query(rangeStateSql);
    await session.query('COMMIT');
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

interface RangeRow {
  range_no: number;
  after_key: string[] | null;
  upper_key: string[];
  last_key: string[] | null;
  rows_done: string;
  finished: boolean;
}

/** The stored ranges of a backfill, in key order ([] when it never ran in parallel). */
export async function loadRanges(session: pg.ClientBase, owner: ProgressOwner): Promise<KeyRange[]> {
  if (!(await hasRangeState(session))) return [];
  const { rows } = await session.query<RangeRow>(
    `SELECT range_no, ${textArray('after_key')} AS after_key, ${textArray('upper_key')} AS upper_key, ${textArray('last_key')} AS last_key,
            rows_done, finished_at IS NOT NULL AS finished
       FROM phasectl.backfill_ranges WHERE change_id = $1 AND direction = $2 ORDER BY range_no`,
    [owner.changeId, owner.direction],
  );
  return rows.map((row) => ({
    index: row.range_no,
    after: row.after_key,
    upper: row.upper_key,
    last: row.last_key,
    rowsDone: Number(row.rows_done),
    finished: row.finished,
  }));
}

/** Stores freshly cut ranges (once: a resume walks the stored ones, whatever its job count). */
export async function saveRanges(session: pg.ClientBase, owner: ProgressOwner, ranges: KeyRange[]): Promise<void> {
  await ensureRangeState(session);
  await session.query(
    `INSERT INTO phasectl.backfill_ranges (change_id, direction, range_no, after_key, upper_key)
     SELECT $1, $2, r.range_no, r.after_key, r.upper_key FROM pg_catalog.jsonb_to_recordset($3::jsonb) AS r(range_no int, after_key jsonb, upper_key jsonb)
     ON CONFLICT DO NOTHING`,
    [
      owner.changeId,
      owner.direction,
      JSON.stringify(
        ranges.map((range) => ({ range_no: range.index, after_key: range.after, upper_key: range.upper })),
      ),
    ],
  );
}

/** Marks one range walked to its upper key. */
export async function finishRange(session: pg.ClientBase, owner: ProgressOwner, index: number): Promise<void> {
  await session.query(
    `UPDATE phasectl.backfill_ranges SET finished_at = pg_catalog.now(), updated_at = pg_catalog.now() WHERE change_id = $1 AND direction = $2 AND range_no = $3`,
    [owner.changeId, owner.direction, index],
  );
}

/**
 * Once every range is walked: adds their rows to the backfill's row, which the phase-2 guard, `status` and a later
 * run read, and deletes them. The caller marks the backfill finished in the same session right after.
 */
export async function foldRanges(session: pg.ClientBase, owner: ProgressOwner): Promise<void> {
  await session.query(
    `WITH gone AS (DELETE FROM phasectl.backfill_ranges WHERE change_id = $1 AND direction = $2 RETURNING rows_done)
     UPDATE phasectl.backfills SET rows_done = rows_done + (SELECT coalesce(pg_catalog.sum(rows_done), 0) FROM gone)
      WHERE change_id = $1 AND direction = $2`,
    [owner.changeId, owner.direction],
  );
}

/** Forgets the ranges (a repair starts the walk over). */
export async function clearRanges(session: pg.ClientBase, owner: ProgressOwner): Promise<void> {
  if (!(await hasRangeState(session))) return;
  await session.query(`DELETE FROM phasectl.backfill_ranges WHERE change_id = $1 AND direction = $2`, [
    owner.changeId,
    owner.direction,
  ]);
}

/** Records (reason) or clears (undefined) the pause of a throttled backfill, for `status`. */
export async function recordPause(
  session: pg.ClientBase,
  owner: ProgressOwner,
  reason: string | undefined,
): Promise<void> {
  if (reason === undefined) {
    if (await hasRangeState(session))
      await session.query(`DELETE FROM phasectl.backfill_pauses WHERE change_id = $1 AND direction = $2`, [
        owner.changeId,
        owner.direction,
      ]);
    return;
  }
  await ensureRangeState(session);
  await session.query(
    `INSERT INTO phasectl.backfill_pauses (change_id, direction, reason) SELECT $1, $2, $3
      WHERE EXISTS (SELECT 1 FROM phasectl.backfills WHERE change_id = $1 AND direction = $2)
     ON CONFLICT (change_id, direction) DO UPDATE SET reason = EXCLUDED.reason`,
    [owner.changeId, owner.direction, reason],
  );
}

/** What `status` adds to a backfill's row: its ranges (rows walked in them so far) and its current pause. */
export interface RangeSummary {
  direction: string;
  ranges: number;
  rangesFinished: number;
  rowsDone: number;
  pause?: { reason: string; since: Date };
}

export async function readRangeSummaries(session: pg.ClientBase, changeId: string): Promise<RangeSummary[]> {
  if (!(await hasRangeState(session))) return [];
  const { rows } = await session.query<{
    direction: string;
    ranges: string;
    finished: string;
    rows_done: string;
    reason: string | null;
    since: Date | null;
  }>(
    `SELECT b.direction, pg_catalog.count(r.range_no) AS ranges, pg_catalog.count(r.finished_at) AS finished,
            coalesce(pg_catalog.sum(r.rows_done), 0) AS rows_done, p.reason, p.since
       FROM phasectl.backfills AS b
       LEFT JOIN phasectl.backfill_ranges AS r ON r.change_id = b.change_id AND r.direction = b.direction
       LEFT JOIN phasectl.backfill_pauses AS p ON p.change_id = b.change_id AND p.direction = b.direction
      WHERE b.change_id = $1 GROUP BY b.direction, p.reason, p.since`,
    [changeId],
  );
  return rows.map((row) => ({
    direction: row.direction,
    ranges: Number(row.ranges),
    rangesFinished: Number(row.finished),
    rowsDone: Number(row.rows_done),
    ...(row.reason !== null && row.since !== null ? { pause: { reason: row.reason, since: row.since } } : {}),
  }));
}

function textArray(column: string): string {
  return `(SELECT pg_catalog.array_agg(v ORDER BY o) FROM pg_catalog.jsonb_array_elements_text(${column}) WITH ORDINALITY AS e(v, o))`;
}
