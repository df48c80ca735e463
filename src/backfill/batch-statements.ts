import { qualify, quoteLiteral } from '../render/quote.js';
import type { TableName } from '../spec/types.js';
import type { BackfillPlan } from '../operations/types.js';

/**
 * Where a backfill's progress row lives: `phasectl.backfills` keyed by change and direction, or, for one key range
 * of a parallel backfill (`range` set), its row in `phasectl.backfill_ranges`.
 */
type ProgressKey = Pick<BackfillPlan, 'changeId' | 'direction' | 'suppressSetting'> & {
  range?: number;
  /** Tables to lock (ACCESS SHARE, ONLY) before the batch writes, in this order: a leaf partition's ancestors. */
  lockFirst?: readonly TableName[];
};

/**
 * Opens a batch transaction in one round trip (a simple-protocol query, so it may hold several statements):
 *
 * - `synchronous_commit = off` unless `durable`: the batch's rows and its progress row commit together,
 *   so a crash that loses an unflushed batch loses both and the resume redoes exactly that batch. Any later
 *   durable commit (the next phase, an application write, the `finished_at` mark) flushes the WAL up to
 *   itself, this batch included. The commit no longer waits for a WAL flush per batch.
 * - the suppress setting, so the sync trigger does not echo the batch's writes back to the other column;
 * - the batch's lock_timeout;
 * - a lock on the progress row, returned as `progress_rows` (1, or 0 when the row is gone): held to the
 *   commit, so the row cannot vanish under the batch and the closing progress update always lands;
 * - for a leaf partition, its ancestors locked first, root down (`lockFirst`; see leafAncestors). Pure.
 *
 * ```sql
 * BEGIN; SET LOCAL synchronous_commit = off;
 * SELECT pg_catalog.set_config('phasectl.backfill', 'on', true), pg_catalog.set_config('lock_timeout', '2000ms', true),
 *   (SELECT pg_catalog.count(*) FROM (SELECT 1 FROM phasectl.backfills WHERE change_id = '…' AND direction = 'up' FOR UPDATE) AS p) AS progress_rows
 * ```
 */
export function beginBatchSql(plan: ProgressKey, lockTimeoutMs: number, durable: boolean): string {
  const timeout = `${Math.max(0, Math.round(lockTimeoutMs))}ms`;
  const ancestors = plan.lockFirst ?? [];
  const lockFirst =
    ancestors.length === 0
      ? ''
      : ` SET LOCAL lock_timeout = ${quoteLiteral(timeout)}; LOCK TABLE ${ancestors.map((t) => `ONLY ${qualify(t.schema, t.table)}`).join(', ')} IN ACCESS SHARE MODE;`;
  return (
    `BEGIN;${durable ? '' : ' SET LOCAL synchronous_commit = off;'}${lockFirst} ` +
    `SELECT pg_catalog.set_config(${quoteLiteral(plan.suppressSetting)}, 'on', true), pg_catalog.set_config('lock_timeout', ${quoteLiteral(timeout)}, true), ` +
    `(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM ${progressTable(plan)} WHERE ${progressRow(plan)} FOR UPDATE) AS p) AS progress_rows`
  );
}

/**
 * Closes a batch in one round trip: moves the progress row (locked since beginBatchSql) to the batch's
 * last key, adds the batch's row count, and commits data and progress together. The values are literals
 * (the key as JSON text, the count as an integer) so both statements travel as one simple query. Pure.
 *
 * ```sql
 * UPDATE phasectl.backfills SET last_key = '["4000"]'::jsonb, rows_done = rows_done + 4000, updated_at = pg_catalog.now()
 *  WHERE change_id = '…' AND direction = 'up'; COMMIT
 * ```
 */
export function commitBatchSql(plan: ProgressKey, lastKey: readonly string[], updated: number): string {
  return (
    `UPDATE ${progressTable(plan)} SET last_key = ${quoteLiteral(JSON.stringify(lastKey))}::jsonb, ` +
    `rows_done = rows_done + ${Math.max(0, Math.trunc(updated))}, updated_at = pg_catalog.now() WHERE ${progressRow(plan)}; COMMIT`
  );
}

function progressTable(plan: ProgressKey): string {
  return plan.range === undefined ? 'phasectl.backfills' : 'phasectl.backfill_ranges';
}

function progressRow(plan: ProgressKey): string {
  const row = `change_id = ${quoteLiteral(plan.changeId)} AND direction = ${quoteLiteral(plan.direction)}`;
  return plan.range === undefined ? row : `${row} AND range_no = ${Math.trunc(plan.range)}`;
}
