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
  /** A leaf partition the batch writes, and the table it must still be a partition of (`leaf_member`). */
  partitionOf?: { root: TableName; leaf: TableName };
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
 * - for a leaf partition, its ancestors locked first, root down (`lockFirst`; see leafAncestors), then whether the
 *   leaf is still a partition of the table, as `leaf_member` (`partitionOf`): read after those locks, in the batch's
 *   own round trip, so a leaf detached before the batch is never written by it. Pure.
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
    `(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM ${progressTable(plan)} WHERE ${progressRow(plan)} FOR UPDATE) AS p) AS progress_rows` +
    (plan.partitionOf ? `, ${leafMemberSql(plan.partitionOf.root, plan.partitionOf.leaf)} AS leaf_member` : '')
  );
}

/** True while `leaf` exists and is a partition (at any level) of `root`; false once detached or dropped. Pure. */
export function leafMemberSql(root: TableName, leaf: TableName): string {
  return (
    `pg_catalog.to_regclass(${quoteLiteral(qualify(root.schema, root.table))}) IN ` +
    `(SELECT relid FROM pg_catalog.pg_partition_ancestors(pg_catalog.to_regclass(${quoteLiteral(qualify(leaf.schema, leaf.table))})))`
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
