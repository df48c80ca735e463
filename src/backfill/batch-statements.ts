import { quoteLiteral } from '../render/quote.js';
import type { BackfillPlan } from '../operations/types.js';

/**
 * Opens a batch transaction in one round trip (a simple-protocol query, so it may hold several statements):
 *
 * - `synchronous_commit = off` unless `durable`: the batch's rows and its progress row commit together,
 *   so a crash that loses an unflushed batch loses both and the resume redoes exactly that batch. Any later
 *   durable commit (the next phase, an application write, the `finished_at` mark) flushes the WAL up to
 *   itself, this batch included. The commit no longer waits for a WAL flush per batch.
 * - the suppress setting, so the sync trigger does not echo the batch's writes back to the other column;
 * - the batch's lock_timeout. Pure.
 *
 * ```sql
 * BEGIN; SET LOCAL synchronous_commit = off;
 * SELECT pg_catalog.set_config('phasectl.backfill', 'on', true), pg_catalog.set_config('lock_timeout', '2000ms', true)
 * ```
 */
export function beginBatchSql(plan: Pick<BackfillPlan, 'suppressSetting'>, lockTimeoutMs: number, durable: boolean): string {
  const timeout = `${Math.max(0, Math.round(lockTimeoutMs))}ms`;
  return (
    `BEGIN;${durable ? '' : ' SET LOCAL synchronous_commit = off;'} ` +
    `SELECT pg_catalog.set_config(${quoteLiteral(plan.suppressSetting)}, 'on', true), pg_catalog.set_config('lock_timeout', ${quoteLiteral(timeout)}, true)`
  );
}

/**
 * The batch's data write and its progress record as one statement (one round trip, one plan):
 * the plan's UPDATE of the closed range becomes a data-modifying CTE whose row count moves `rows_done`,
 * and `last_key` moves to the range's end, all in the same snapshot and the same commit. Pure.
 *
 * Parameters: $1..$k first key, $k+1..$2k last key (as the plan's updateSql), then
 * $2k+1 last key as a JSON array, $2k+2 change id, $2k+3 direction. Returns one row `updated`
 * (none when the progress row is missing, which the engine treats as an error).
 *
 * ```sql
 * WITH batch AS (UPDATE … WHERE <range> AND <differs> RETURNING 1)
 * UPDATE phasectl.backfills SET last_key = $3::jsonb, rows_done = rows_done + (SELECT count(*) FROM batch), updated_at = now()
 *  WHERE change_id = $4 AND direction = $5
 * RETURNING (SELECT count(*) FROM batch) AS updated
 * ```
 */
export function batchWithProgressSql(plan: Pick<BackfillPlan, 'updateSql'>, keyWidth: number): string {
  const n = 2 * keyWidth;
  return (
    `WITH batch AS (${plan.updateSql.trim().replace(/;\s*$/, '')} RETURNING 1) ` +
    `UPDATE phasectl.backfills SET last_key = $${n + 1}::jsonb, rows_done = rows_done + (SELECT pg_catalog.count(*) FROM batch), updated_at = pg_catalog.now() ` +
    `WHERE change_id = $${n + 2} AND direction = $${n + 3} ` +
    `RETURNING (SELECT pg_catalog.count(*) FROM batch) AS updated`
  );
}
