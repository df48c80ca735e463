import type pg from 'pg';
import { InputError, PhasectlError, RuntimeFailure } from '../errors.js';
import type { BackfillPlan } from '../operations/types.js';
import { silent } from '../events.js';
import { backoffDelay, sleep } from '../session/lock-retry.js';
import { DEFAULT_LOCK_TIMEOUT_MS, giveWayLockTimeoutMs, readDeadlockTimeoutMs } from '../session/lock-timeout.js';
import { describePgError, isConnectionLost, isLockTimeout, isTransientConflict, pgError } from '../session/pg-error.js';
import { ensureStateSchema } from '../session/state-schema.js';
import { nextBatchSize } from './batch-size.js';
import { beginBatchSql, commitBatchSql } from './batch-statements.js';
import { addKeyOperatorSchemas } from './key-operator-schemas.js';
import { nextBounds } from './key-bounds.js';
import { describeKey, integerSpanAfter, isDenseRange, keysetQueries, type KeysetQueries } from './keyset.js';
import { withGuardedSession } from './session-guard.js';
import type { KeyRange } from './key-range.js';
import { cutRanges, walkRanges } from './parallel.js';
import type { BackfillOptions, BackfillResult, RangeWalk } from './options.js';
import { clearRanges, foldRanges, loadRanges, recordPause } from './range-state.js';
import { walkPartitions } from './partition-walk.js';
import { isPartitionOf, isPartitioned, leafAncestors, leafWalk } from './partitions.js';
import type { TableName } from '../spec/types.js';
import { createThrottle } from './throttle.js';
import { failingTableTrigger } from './trigger-failure.js';
import { requireTrustedBackfill } from './table-trust.js';
import { syncTriggersFingerprint } from './copy-check.js';

export type { BackfillOptions, BackfillResult, BatchReport } from './options.js';

/** Default target duration of one batch (ms); see BackfillOptions.targetBatchMs. */
export const DEFAULT_TARGET_BATCH_MS = 50;
/** Largest growth of the batch size after one fast batch: creep up, drop fast (×0.5 after a slow one). */
const MAX_BATCH_GROWTH = 1.5;

/** Class id of the per-backfill advisory lock (two-int form), so two backfills of one change never overlap. */
const BACKFILL_LOCK_CLASS = 1885888885;

/** A plan bound to one range's progress row (no range: the change's row in phasectl.backfills). */
type RangePlan = BackfillPlan & {
  range?: number;
  lockFirst?: readonly TableName[];
  partitionOf?: { root: TableName; leaf: TableName };
};

interface BackfillRow {
  upper_key: string[] | null;
  last_key: string[] | null;
  rows_done: string;
  rows_estimated: string | null;
  finished_at: Date | null;
}

/**
 * Runs (or resumes) one backfill on a pinned session. The upper bound is read once, after the sync
 * trigger exists, and stored: later rows are kept in sync by the trigger, so the walk terminates.
 * Each batch is one short transaction that updates the rows of a closed key range which differ and
 * moves `last_key` forward in the same commit: a kill loses at most the uncommitted batch.
 */
export async function runBackfill(
  session: pg.ClientBase,
  plan: BackfillPlan,
  options: BackfillOptions = {},
): Promise<BackfillResult> {
  return withGuardedSession(session, () => backfill(session, plan, options));
}

async function backfill(session: pg.ClientBase, plan: BackfillPlan, given: BackfillOptions): Promise<BackfillResult> {
  // A batch holds row locks the application may be waiting for while it waits for others: it gives way before the
  // application's deadlock check can pick the application as the victim (giveWayLockTimeoutMs), and is retried.
  const options: BackfillOptions = {
    ...given,
    lockTimeoutMs: giveWayLockTimeoutMs(
      given.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS,
      await readDeadlockTimeoutMs(session),
    ),
  };
  const log = options.log ?? silent;
  const queries = keysetQueries(plan);
  if ((options.jobs ?? 1) > 1 && !options.openWorker) {
    throw new InputError(`a backfill with ${options.jobs} jobs needs a way to open more connections`, {
      hint: 'pass openWorker to runBackfill (the CLI and migrate do), or jobs: 1',
    });
  }
  await ensureStateSchema(session);
  await addKeyOperatorSchemas(session, plan.keyTypes);
  await lockBackfill(session, plan);
  try {
    if (options.repair) await restart(session, plan);
    let state = await loadState(session, plan);
    if (state?.finished_at) {
      const rowsDone = Number(state.rows_done);
      log({
        type: 'backfill-done',
        changeId: plan.changeId,
        direction: plan.direction,
        rowsDone,
        alreadyFinished: true,
      });
      return {
        changeId: plan.changeId,
        direction: plan.direction,
        rowsUpdated: 0,
        rowsDone,
        alreadyFinished: true,
        batches: 0,
      };
    }
    // Before any row is written: the tables' triggers, rules and index functions run as us (the catalog may have
    // changed since `plan` checked them).
    await requireTrustedBackfill(session, plan);
    if (!state || state.upper_key === null) state = await startState(session, plan, queries);
    const upper = state.upper_key;
    const rowsEstimated = Number(state.rows_estimated ?? 0);
    log({
      type: 'backfill-start',
      changeId: plan.changeId,
      direction: plan.direction,
      upperKey: upper,
      rowsEstimated,
      resumedFrom: state.last_key,
    });

    const jobs = options.jobs ?? 1;
    const throttle = await createThrottle(session, plan, options, log);
    const partitioned = await isPartitioned(session, plan.table);
    let ranges = partitioned ? [] : await loadRanges(session, plan);
    // A first run of a plain table's phase-1 copy verifies it as it goes; a resume does not know what happened
    // between its runs, and leaf partitions come and go: those are walked afterwards (so is a repair, by its caller).
    const fresh =
      !partitioned &&
      !options.repair &&
      ranges.length === 0 &&
      state.last_key === null &&
      Number(state.rows_done) === 0;
    const before = fresh && plan.verifyAsCopied ? await syncTriggersFingerprint(session, plan.table) : undefined;
    if (ranges.length === 0 && jobs > 1 && upper !== null && !partitioned)
      ranges = await cutRanges(session, plan, queries, state.last_key, upper, jobs);
    let rowsDone: number;
    let rowsUpdated: number;
    let batches: number;
    if (partitioned) {
      // Each leaf partition on its own key index, as ranges (src/backfill/partition-walk.ts).
      ({ rowsDone, rowsUpdated, batches } = await walkPartitions(
        session,
        plan,
        { ...options, log },
        { jobs, throttle, walk: walkRange },
      ));
      await foldRanges(session, plan);
    } else if (ranges.length > 0) {
      // Stored ranges are walked whatever this run's job count: a resume continues each where it stopped.
      ({ rowsDone, rowsUpdated, batches } = await walkRanges(
        session,
        plan,
        queries,
        ranges,
        { ...options, log },
        { jobs, rowsEstimated, baseRowsDone: Number(state.rows_done), throttle, walk: walkRange },
      ));
      await foldRanges(session, plan);
    } else {
      const whole: KeyRange = {
        after: null,
        upper: upper ?? [],
        last: state.last_key,
        rowsDone: Number(state.rows_done),
        finished: upper === null,
      };
      // A resume counts on from the stored progress (rows walked before ≈ rows_done), so the bar and the
      // events do not start again at 0 % and then jump to "finished"; the speed counts this run's rows only.
      const resumedRows = state.last_key ? Number(state.rows_done) : 0;
      let rowsScanned = resumedRows;
      rowsDone = Number(state.rows_done);
      const started = Date.now();
      const walked = whole.finished
        ? { updated: 0, batches: 0 }
        : await walkRange(session, plan, queries, whole, options, throttle, (batch) => {
            rowsDone += batch.updated;
            rowsScanned += batch.batchSize;
            const rowsPerSecond = ((rowsScanned - resumedRows) * 1000) / Math.max(1, Date.now() - started);
            log({
              type: 'backfill-progress',
              changeId: plan.changeId,
              direction: plan.direction,
              rowsDone,
              rowsScanned,
              rowsEstimated,
              lastKey: batch.lastKey,
              batchSize: batch.batchSize,
              batchMs: batch.batchMs,
              rowsPerSecond,
            });
          });
      rowsUpdated = walked.updated;
      batches = walked.batches;
    }
    await session.query(
      `UPDATE phasectl.backfills SET finished_at = now(), updated_at = now() WHERE change_id = $1 AND direction = $2`,
      [plan.changeId, plan.direction],
    );
    log({
      type: 'backfill-done',
      changeId: plan.changeId,
      direction: plan.direction,
      rowsDone,
      alreadyFinished: false,
    });
    const verifiedAsCopied = before !== undefined && (await syncTriggersFingerprint(session, plan.table)) === before;
    // The walk it replaces would check the table's code first: what was planted while the batches ran is seen now.
    if (verifiedAsCopied) await requireTrustedBackfill(session, plan);
    return {
      changeId: plan.changeId,
      direction: plan.direction,
      rowsUpdated,
      rowsDone,
      alreadyFinished: false,
      batches,
      ...(verifiedAsCopied ? { verifiedAsCopied } : {}),
    };
  } catch (error) {
    if (error instanceof PhasectlError) throw error;
    if (isConnectionLost(error)) {
      throw new RuntimeFailure(
        `the connection to PostgreSQL was lost during the backfill of ${plan.changeId}: ${describePgError(error)}`,
        {
          hint: `progress up to the last committed batch is saved; rerun \`phasectl backfill ${plan.changeId}\` or \`phasectl migrate\` to resume`,
          cause: error,
        },
      );
    }
    throw new RuntimeFailure(`backfill of ${plan.changeId} failed: ${describePgError(error)}`, {
      hint: `fix the cause, then rerun \`phasectl backfill ${plan.changeId}\`: it resumes after the last committed batch`,
      cause: error,
    });
  } finally {
    // A stop or a failure while paused must not leave the pause behind in `status`.
    if (options.maxReplicationLagSeconds !== undefined || options.throttleQuery !== undefined)
      await recordPause(session, plan, undefined).catch(() => undefined);
    await session
      .query('SELECT pg_advisory_unlock($1::int, hashtext($2))', [
        BACKFILL_LOCK_CLASS,
        `${plan.changeId}:${plan.direction}`,
      ])
      .catch(() => undefined);
  }
}

/**
 * Walks one key range batch by batch on `session`, from its stored progress to its upper key, each batch
 * committing its rows and the range's progress row together; its own adaptive batch size. Stops (after a committed
 * batch) when `options.signal` aborts, and waits before each batch while the throttle holds. A range of a leaf
 * partition (`range.table`) runs on the leaf, and ends early, `detached`, once the leaf is no longer the table's.
 */
export const walkRange: RangeWalk = async function walkRange(
  session,
  plan,
  queries,
  range,
  options,
  throttle,
  onBatch,
  startSize,
) {
  // A leaf partition's range runs the plan's statements on the leaf, by the leaf's own key index.
  const leaf = range.table ? leafWalk(plan, range.table) : undefined;
  const keyset = leaf?.queries ?? queries;
  const target = {
    ...(leaf?.plan ?? plan),
    range: range.index,
    ...(range.table
      ? { lockFirst: await leafAncestors(session, range.table), partitionOf: { root: plan.table, leaf: range.table } }
      : {}),
  };
  const upper = range.upper;
  let last = range.last ?? range.after;
  let updatedTotal = 0;
  let batches = 0;
  const initial = options.batchSize ?? 1000;
  let size = startSize ?? initial;
  // Dense integer keys: the next batch is the next `size` key values, no index walk to find its end.
  let dense = false;
  for (;;) {
    if (options.signal?.aborted) throw stopped(plan, last, options.signal.reason);
    if (throttle) {
      await throttle.wait(options.signal);
      if (options.signal?.aborted) throw stopped(plan, last, options.signal.reason);
    }
    let bounds: { first: string[]; last: string[] | null } | undefined;
    let updated: number;
    let batchStarted: number;
    try {
      bounds =
        dense && last
          ? integerSpanAfter(plan.keyTypes, last, size, upper)
          : await nextBounds(session, keyset, last, upper, size);
      if (!bounds) break;
      batchStarted = performance.now();
      updated = await runBatch(session, target, keyset, bounds.first, bounds.last ?? upper, options);
    } catch (error) {
      // A leaf detached or dropped mid-walk: its rows are no longer the table's; stop walking it (not a failure).
      // The batch finds it so after its locks (LeafLeft); a statement failing on a leaf gone meanwhile is asked here.
      const left =
        error instanceof LeafLeft ||
        (range.table && !(await isPartitionOf(session, plan.table, range.table).catch(() => true)));
      if (left) return { updated: updatedTotal, batches, detached: true, batchSize: size };
      throw error;
    }
    const { first } = bounds;
    const lastKey = bounds.last ?? upper;
    const batchMs = Math.round((performance.now() - batchStarted) * 10) / 10;
    batches += 1;
    updatedTotal += updated;
    last = lastKey;
    dense = isDenseRange(plan.keyTypes, first, lastKey, updated);
    onBatch({ updated, lastKey, batchSize: size, batchMs });
    size = nextBatchSize(size, batchMs, options.targetBatchMs ?? DEFAULT_TARGET_BATCH_MS, initial, {
      maxGrowth: MAX_BATCH_GROWTH,
    });
    if (options.pauseMs) await sleep(options.pauseMs);
  }
  return { updated: updatedTotal, batches, batchSize: size };
};

async function lockBackfill(session: pg.ClientBase, plan: BackfillPlan): Promise<void> {
  const { rows } = await session.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS ok', [
    BACKFILL_LOCK_CLASS,
    `${plan.changeId}:${plan.direction}`,
  ]);
  if (!rows[0]?.ok) {
    throw new RuntimeFailure(
      `the backfill of ${plan.changeId} (${plan.direction}) is already running in another session`,
      {
        hint: 'wait for it to finish (phasectl status shows its progress); it resumes where it stops, so nothing needs restarting',
      },
    );
  }
}

async function loadState(session: pg.ClientBase, plan: BackfillPlan): Promise<BackfillRow | undefined> {
  const { rows } = await session.query<BackfillRow>(
    `SELECT (SELECT array_agg(v ORDER BY o) FROM jsonb_array_elements_text(upper_key) WITH ORDINALITY AS e(v, o)) AS upper_key,
            (SELECT array_agg(v ORDER BY o) FROM jsonb_array_elements_text(last_key) WITH ORDINALITY AS e(v, o)) AS last_key,
            rows_done, rows_estimated, finished_at
       FROM phasectl.backfills WHERE change_id = $1 AND direction = $2`,
    [plan.changeId, plan.direction],
  );
  return rows[0];
}

/**
 * A repair starts the walk over: a new upper bound, from the first key, not finished (so phase 2's guard waits
 * for it and for a verification after it), counting from 0 (its progress and "finished: N rows updated" are the rows
 * it rewrote, not the first backfill's). Rows already in sync are skipped by the batch's filter.
 */
async function restart(session: pg.ClientBase, plan: BackfillPlan): Promise<void> {
  await clearRanges(session, plan);
  await session.query(
    `UPDATE phasectl.backfills SET upper_key = NULL, last_key = NULL, finished_at = NULL, rows_done = 0, updated_at = now()
      WHERE change_id = $1 AND direction = $2`,
    [plan.changeId, plan.direction],
  );
}

/** Reads and stores the upper bound (and the row estimate) once, at the first start. */
async function startState(session: pg.ClientBase, plan: BackfillPlan, queries: KeysetQueries): Promise<BackfillRow> {
  const max = await session.query<{ key: string[] }>(queries.maxKey);
  const estimate = await session.query<{ estimate: string }>(queries.estimate);
  const upper = max.rows[0]?.key ?? null;
  await session.query(
    `INSERT INTO phasectl.backfills (change_id, direction, upper_key, rows_estimated)
     VALUES ($1, $2, $3::jsonb, $4)
     ON CONFLICT (change_id, direction) DO UPDATE
       SET upper_key = EXCLUDED.upper_key, rows_estimated = EXCLUDED.rows_estimated, updated_at = now()
       WHERE phasectl.backfills.upper_key IS NULL`,
    [
      plan.changeId,
      plan.direction,
      upper === null ? null : JSON.stringify(upper),
      Number(estimate.rows[0]?.estimate ?? 0),
    ],
  );
  const state = await loadState(session, plan);
  if (!state) throw new Error('backfill state row vanished');
  return state;
}

/** One batch transaction, retried on lock_timeout; a failing row is found by bisection. */
async function runBatch(
  session: pg.ClientBase,
  plan: RangePlan,
  queries: KeysetQueries,
  first: string[],
  last: string[],
  options: BackfillOptions,
): Promise<number> {
  const retry = options.retry ?? { retryForSeconds: 60 };
  const deadline = Date.now() + retry.retryForSeconds * 1000;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await inBatchTransaction(
        session,
        plan,
        options,
        async () => (await session.query(plan.updateSql, [...first, ...last])).rowCount ?? 0,
        (updated) => commitBatchSql(plan, last, updated),
      );
    } catch (error) {
      // A lock timeout or a deadlock with an application transaction: the batch rolled back whole; retry it.
      if (isLockTimeout(error) || isTransientConflict(error)) {
        const delayMs = backoffDelay(attempt, retry);
        if (Date.now() + delayMs > deadline) {
          throw new RuntimeFailure(
            `backfill of ${plan.changeId}: rows ${describeKey(plan.keyColumns, first)} … ${describeKey(plan.keyColumns, last)} stayed locked for ${retry.retryForSeconds}s`,
            {
              hint: `a long transaction holds row locks there; let it finish, then rerun \`phasectl backfill ${plan.changeId}\` (progress is saved)`,
              cause: error,
            },
          );
        }
        const reason = isLockTimeout(error)
          ? 'waiting for rows another transaction holds (lock timeout on a batch)'
          : 'gave way in a deadlock with another transaction';
        options.log?.({ type: 'retry', file: `backfill ${plan.changeId}`, attempt, delayMs, reason });
        await sleep(delayMs);
        continue;
      }
      if (isConnectionLost(error) || error instanceof PhasectlError || error instanceof LeafLeft) throw error;
      throw await offendingRow(session, plan, queries, first, last, options, error);
    }
  }
}

/**
 * One batch transaction in three round trips: open (settings + progress row lock), `work`, then `close`'s
 * statement (the progress update and COMMIT) or, for a probe, ROLLBACK.
 */
async function inBatchTransaction<T>(
  session: pg.ClientBase,
  plan: RangePlan,
  options: BackfillOptions,
  work: () => Promise<T>,
  close: ((value: T) => string) | 'rollback',
): Promise<T> {
  try {
    const opened: unknown = await session.query(
      beginBatchSql(plan, options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS, options.durableBatches ?? false),
    );
    const results = (Array.isArray(opened) ? opened : [opened]) as Array<{
      rows: Array<{ progress_rows?: string; leaf_member?: boolean | null }>;
    }>;
    // No row: the progress row is gone (a concurrent rollback of the phase?); do not write data without progress.
    if (Number(results.at(-1)?.rows[0]?.progress_rows ?? 0) !== 1) {
      throw new RuntimeFailure(
        `the progress row of ${plan.changeId} (${plan.direction}) disappeared from phasectl.backfills`,
        {
          hint: 'a rollback of this phase may have run meanwhile; run `phasectl status`, then `phasectl migrate` to start the phase again',
        },
      );
    }
    if (plan.partitionOf && results.at(-1)?.rows[0]?.leaf_member !== true) throw new LeafLeft();
    const value = await work();
    await session.query(close === 'rollback' ? 'ROLLBACK' : close(value));
    return value;
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** A batch found its leaf partition no longer part of the table (detached or dropped): nothing was written. */
class LeafLeft extends Error {
  override name = 'LeafLeft';
}

/** Bisects the failed batch (each probe rolled back) down to the first row whose update fails. */
async function offendingRow(
  session: pg.ClientBase,
  plan: RangePlan,
  queries: KeysetQueries,
  first: string[],
  last: string[],
  options: BackfillOptions,
  original: unknown,
): Promise<RuntimeFailure> {
  const probe = async (lo: string[], hi: string[]): Promise<unknown> => {
    try {
      await inBatchTransaction(session, plan, options, () => session.query(plan.updateSql, [...lo, ...hi]), 'rollback');
      return undefined;
    } catch (error) {
      return error;
    }
  };
  const keys = (await session.query<{ key: string[] }>(queries.keysInRange, [...first, ...last])).rows.map(
    (row) => row.key,
  );
  let lo = 0;
  let hi = keys.length - 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (await probe(keys[lo]!, keys[mid]!)) hi = mid;
    else lo = mid + 1;
  }
  const key = keys[lo];
  const error = key ? await probe(key, key) : undefined;
  if (!key || !error) {
    return new RuntimeFailure(
      `backfill of ${plan.changeId} failed on rows ${describeKey(plan.keyColumns, first)} … ${describeKey(plan.keyColumns, last)}: ${describePgError(original)}`,
      {
        hint: `fix the cause, then rerun \`phasectl backfill ${plan.changeId}\`: it resumes at this batch`,
        cause: original,
      },
    );
  }
  const row = (await session.query<{ row: string }>(queries.rowByKey, key)).rows[0]?.row ?? '(row not found)';
  const trigger = await failingTableTrigger(session, plan.table, pgError(error)?.where).catch(() => undefined);
  if (trigger) {
    return new RuntimeFailure(
      `backfill of ${plan.changeId} cannot update the row ${describeKey(plan.keyColumns, key)}: the table's trigger ${trigger.trigger} (function ${trigger.fn}) fails on it: ${describePgError(error)}\n  context: ${pgError(error)?.where ?? ''}\n  row: ${row}`,
      {
        hint:
          `the backfill updates every row, which fires the table's own triggers: fix ${trigger.fn} (an application write of that row fails the same way), ` +
          `or make it skip the backfill's writes (they run with current_setting('phasectl.backfill', true) = 'on'); then rerun \`phasectl migrate\` or \`phasectl backfill ${plan.changeId}\` (rows before it are done)`,
        cause: error,
      },
    );
  }
  return new RuntimeFailure(
    `backfill of ${plan.changeId} cannot convert the row ${describeKey(plan.keyColumns, key)}: ${describePgError(error)}\n  row: ${row}`,
    {
      // A shipped file cannot be regenerated while it is applied: changing the expression means undoing its phase first.
      hint:
        `fix that row's value (UPDATE … WHERE ${describeKey(plan.keyColumns, key)}) and rerun \`phasectl migrate\` or \`phasectl backfill ${plan.changeId}\` (rows before it are done), ` +
        `or change the ${plan.direction} expression: roll its phase back first (\`phasectl rollback --release <its release>\`), then edit it in phases.yaml, \`phasectl generate\` and \`phasectl migrate\``,
      cause: error,
    },
  );
}

/** The error for a backfill stopped by SIGINT/SIGTERM after its current batch committed. */
function stopped(plan: BackfillPlan, last: string[] | null, reason: unknown): PhasectlError {
  const where = last ? `at key ${describeKey(plan.keyColumns, last)}` : 'before its first batch';
  return new PhasectlError(`backfill of ${plan.changeId} stopped ${where}; progress is saved`, {
    exitCode: reason === 'SIGTERM' ? 143 : 130,
    hint: `run \`phasectl backfill ${plan.changeId}\` or \`phasectl migrate\` to resume`,
  });
}
