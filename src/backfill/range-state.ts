import type pg from 'pg';
import type { BackfillPlan } from '../operations/types.js';
import type { KeyRange } from './key-range.js';

type ProgressOwner = Pick<BackfillPlan, 'changeId' | 'direction'>;

/**
 * The leaf partition a range belongs to (a partitioned table's backfill walks each leaf on its own; NULL: a key range
 * of the change's own table) and its row estimate. Added to tables an older phasectl created: its rows read as NULL.
 */
const partitionColumnsSql = `ALTER TABLE phasectl.backfill_ranges ADD COLUMN IF NOT EXISTS partition_schema text,
  ADD COLUMN IF NOT EXISTS partition_name text, ADD COLUMN IF NOT EXISTS rows_estimated bigint;`;

/**
 * The state of a parallel backfill, beside `phasectl.backfills` (created only once a backfill runs with more
 * than one job, is throttled or walks a partitioned table): one progress row per key range (or leaf partition),
 * and the current pause of a throttled backfill. Both reference the change's backfill row ON DELETE CASCADE, so a
 * rollback (which deletes that row) or a repair takes its ranges and pause with it.
 */
const rangeStateSql = `
CREATE TABLE IF NOT EXISTS phasectl.backfill_ranges (
  change_id text NOT NULL, direction text NOT NULL, range_no int NOT NULL, after_key jsonb, upper_key jsonb NOT NULL,
  last_key jsonb, rows_done bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,
  PRIMARY KEY (change_id, direction, range_no),
  FOREIGN KEY (change_id, direction) REFERENCES phasectl.backfills (change_id, direction) ON DELETE CASCADE);
${partitionColumnsSql}
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

/** Whether backfill_ranges has the partition columns (a table created by an older phasectl has not). */
async function hasPartitionColumns(session: pg.ClientBase): Promise<boolean> {
  const { rows } = await session.query<{ n: string }>(
    `SELECT pg_catalog.count(*) AS n FROM pg_catalog.pg_attribute
      WHERE attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass('phasectl.backfill_ranges')
        AND attname OPERATOR(pg_catalog.=) 'rows_estimated' AND NOT attisdropped`,
  );
  return rows[0]?.n === '1';
}

/** Creates the range tables (or adds the partition columns) when missing, in one short transaction that fails fast on a lock. */
export async function ensureRangeState(session: pg.ClientBase): Promise<void> {
  if ((await hasRangeState(session)) && (await hasPartitionColumns(session))) return;
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
  partition_schema: string | null;
  partition_name: string | null;
  rows_estimated: string | null;
  after_key: string[] | null;
  upper_key: string[];
  last_key: string[] | null;
  rows_done: string;
  finished: boolean;
}

/**
 * The stored ranges of a backfill, in key order ([] when it never ran in parallel). The partition columns are read
 * through to_jsonb, so a table created by an older phasectl (without them) reads as ranges of the change's table.
 */
export async function loadRanges(session: pg.ClientBase, owner: ProgressOwner): Promise<KeyRange[]> {
  if (!(await hasRangeState(session))) return [];
  const { rows } = await session.query<RangeRow>(
    `SELECT range_no, ${textArray('after_key')} AS after_key, ${textArray('upper_key')} AS upper_key, ${textArray('last_key')} AS last_key,
            rows_done, finished_at IS NOT NULL AS finished, pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'partition_schema' AS partition_schema,
            pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'partition_name' AS partition_name,
            pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'rows_estimated' AS rows_estimated
       FROM phasectl.backfill_ranges AS r WHERE change_id = $1 AND direction = $2 ORDER BY range_no`,
    [owner.changeId, owner.direction],
  );
  return rows.map((row) => ({
    index: row.range_no,
    after: row.after_key,
    // An empty leaf is stored with the upper key [] (finished at once).
    upper: row.upper_key ?? [],
    last: row.last_key,
    rowsDone: Number(row.rows_done),
    finished: row.finished,
    ...(row.partition_schema !== null && row.partition_name !== null
      ? { table: { schema: row.partition_schema, table: row.partition_name } }
      : {}),
    ...(row.rows_estimated !== null ? { rowsEstimated: Number(row.rows_estimated) } : {}),
  }));
}

/** Stores freshly cut ranges (once: a resume walks the stored ones, whatever its job count). */
export async function saveRanges(session: pg.ClientBase, owner: ProgressOwner, ranges: KeyRange[]): Promise<void> {
  await ensureRangeState(session);
  await session.query(
    `INSERT INTO phasectl.backfill_ranges (change_id, direction, range_no, after_key, upper_key, partition_schema, partition_name, rows_estimated, finished_at)
     SELECT $1, $2, r.range_no, r.after_key, r.upper_key, r.partition_schema, r.partition_name, r.rows_estimated,
            CASE WHEN r.finished THEN pg_catalog.now() END
       FROM pg_catalog.jsonb_to_recordset($3::jsonb)
         AS r(range_no int, after_key jsonb, upper_key jsonb, partition_schema text, partition_name text, rows_estimated bigint, finished boolean)
     ON CONFLICT DO NOTHING`,
    [
      owner.changeId,
      owner.direction,
      JSON.stringify(
        ranges.map((range) => ({
          range_no: range.index,
          after_key: range.after,
          upper_key: range.upper,
          partition_schema: range.table?.schema ?? null,
          partition_name: range.table?.table ?? null,
          rows_estimated: range.rowsEstimated ?? null,
          finished: range.finished,
        })),
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
 * Drops one range whose partition is no longer part of the table (detached or dropped mid-walk): its rewritten rows
 * are added to the backfill's row, and the range is forgotten (a partition attached again is found as a new one).
 */
export async function dropRange(session: pg.ClientBase, owner: ProgressOwner, index: number): Promise<void> {
  await session.query(
    `WITH gone AS (DELETE FROM phasectl.backfill_ranges WHERE change_id = $1 AND direction = $2 AND range_no = $3 RETURNING rows_done)
     UPDATE phasectl.backfills SET rows_done = rows_done + (SELECT coalesce(pg_catalog.sum(rows_done), 0) FROM gone), updated_at = pg_catalog.now()
      WHERE change_id = $1 AND direction = $2`,
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
  /** A partitioned table's backfill: the progress of each leaf partition (its ranges summed), in name order. */
  partitions?: PartitionProgress[];
}

/** One leaf partition of a running backfill: rows rewritten in it so far, its estimate when it was found. */
export interface PartitionProgress {
  partition: string;
  rowsDone: number;
  rowsEstimated: number;
  finished: boolean;
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
  const partitions = await readPartitionProgress(session, changeId);
  return rows.map((row) => {
    const leaves = partitions
      .filter((leaf) => leaf.direction === row.direction)
      .map(({ direction: _direction, ...leaf }) => leaf);
    return {
      direction: row.direction,
      ranges: Number(row.ranges),
      rangesFinished: Number(row.finished),
      rowsDone: Number(row.rows_done),
      ...(row.reason !== null && row.since !== null ? { pause: { reason: row.reason, since: row.since } } : {}),
      ...(leaves.length > 0 ? { partitions: leaves } : {}),
    };
  });
}

/** The ranges of leaf partitions, summed per leaf (none in a table an older phasectl created: to_jsonb reads NULL). */
async function readPartitionProgress(
  session: pg.ClientBase,
  changeId: string,
): Promise<Array<PartitionProgress & { direction: string }>> {
  const { rows } = await session.query<{
    direction: string;
    partition_schema: string;
    partition_name: string;
    rows_done: string;
    rows_estimated: string;
    finished: boolean;
  }>(
    `SELECT direction, partition_schema, partition_name, pg_catalog.sum(rows_done) AS rows_done,
            pg_catalog.sum(coalesce(rows_estimated, 0)) AS rows_estimated, pg_catalog.bool_and(finished_at IS NOT NULL) AS finished
       FROM (SELECT r.direction, r.rows_done, r.finished_at,
                    pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'partition_schema' AS partition_schema,
                    pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'partition_name' AS partition_name,
                    (pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'rows_estimated')::bigint AS rows_estimated
               FROM phasectl.backfill_ranges AS r WHERE r.change_id = $1) AS leaf
      WHERE partition_name IS NOT NULL
      GROUP BY direction, partition_schema, partition_name
      ORDER BY direction, partition_schema COLLATE "C", partition_name COLLATE "C"`,
    [changeId],
  );
  return rows.map((row) => ({
    direction: row.direction,
    partition: `${row.partition_schema}.${row.partition_name}`,
    rowsDone: Number(row.rows_done),
    rowsEstimated: Number(row.rows_estimated),
    finished: row.finished,
  }));
}

function textArray(column: string): string {
  return `(SELECT pg_catalog.array_agg(v ORDER BY o) FROM pg_catalog.jsonb_array_elements_text(${column}) WITH ORDINALITY AS e(v, o))`;
}
