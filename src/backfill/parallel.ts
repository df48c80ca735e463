import type pg from 'pg';
import { InputError, PhasectlError } from '../errors.js';
import type { BackfillPlan } from '../operations/types.js';
import type { EventLog } from '../events.js';
import type { BackfillOptions, BatchReport, RangeWalk } from './options.js';
import { cutsByValue, integerRanges, sampledRanges, type KeyRange } from './key-range.js';
import { addKeyOperatorSchemas } from './key-operator-schemas.js';
import { firstKeyIn } from './key-bounds.js';
import type { KeysetQueries } from './keyset.js';
import { dropRange, finishRange, loadRanges, saveRanges } from './range-state.js';
import { withGuardedSession } from './session-guard.js';
import type { Throttle } from './throttle.js';

export type { WorkerConnection } from './options.js';

/** Keys sampled per range when the key is not a single integer: enough for quantiles within a few per cent. */
const SAMPLE_KEYS_PER_RANGE = 1000;

/**
 * Cuts what is left of the key space, `(after, upper]`, into `jobs` ranges and stores them. A single integer key is
 * cut by value (from the first key left to the upper key); any other key at the quantiles of a sample of the
 * table's pages (TABLESAMPLE SYSTEM, about 1,000 keys per range; the whole table when it is small).
 */
export async function cutRanges(
  session: pg.ClientBase,
  plan: BackfillPlan,
  queries: KeysetQueries,
  after: string[] | null,
  upper: string[],
  jobs: number,
): Promise<KeyRange[]> {
  const ranges = await cutKeySpace(session, plan, queries, after, upper, jobs);
  if (ranges.length === 0) return [];
  await saveRanges(session, plan, ranges);
  return loadRanges(session, plan);
}

/** The ranges of cutRanges, not stored (verify cuts afresh each run). [] when no key is left. */
export async function cutKeySpace(
  session: pg.ClientBase,
  plan: Pick<BackfillPlan, 'keyTypes'>,
  queries: KeysetQueries,
  after: string[] | null,
  upper: string[],
  jobs: number,
): Promise<KeyRange[]> {
  if (cutsByValue(plan.keyTypes)) {
    const first = await firstKeyIn(session, queries, after, upper);
    if (!first) return [];
    return integerRanges(first[0]!, upper[0]!, after, jobs);
  }
  const estimate = Number((await session.query<{ estimate: string }>(queries.estimate)).rows[0]?.estimate ?? 0);
  const percent = Math.min(100, Math.max(0.0001, (100 * SAMPLE_KEYS_PER_RANGE * jobs) / Math.max(1, estimate)));
  const sample = after
    ? await session.query<{ key: string[] }>(queries.sampleAfter, [percent, ...after, ...upper])
    : await session.query<{ key: string[] }>(queries.sampleFromStart, [percent, ...upper]);
  return sampledRanges(
    sample.rows.map((row) => row.key),
    upper,
    after,
    jobs,
  );
}

export interface ParallelWalk {
  jobs: number;
  rowsEstimated: number;
  /** rows_done of the change's own row (rows rewritten before the key space was cut). */
  baseRowsDone: number;
  throttle: Throttle | undefined;
  walk: RangeWalk;
}

/**
 * Walks the unfinished ranges with up to `jobs` workers, each on its own connection (one range at a time, then the
 * next one left), and reports one combined progress: rows over all ranges, this run's rate. A failing worker stops
 * the others after their current batch; a stop signal stops them all, each range's progress saved.
 * With one job (a resume of a parallel run with `--jobs 1`) the ranges are walked in turn on `session`.
 */
export async function walkRanges(
  session: pg.ClientBase,
  plan: BackfillPlan,
  queries: KeysetQueries,
  ranges: KeyRange[],
  options: BackfillOptions & { log: EventLog },
  walk: ParallelWalk,
): Promise<{ rowsDone: number; rowsUpdated: number; batches: number }> {
  const queue = ranges.filter((range) => !range.finished);
  const workers = Math.max(1, Math.min(walk.jobs, queue.length));
  if (workers > 1 && !options.openWorker) {
    throw new InputError(`a backfill with ${walk.jobs} jobs needs a way to open more connections`, {
      hint: 'pass openWorker to runBackfill, or jobs: 1',
    });
  }
  const resumedRows = walk.baseRowsDone + ranges.reduce((sum, range) => sum + range.rowsDone, 0);
  let rowsDone = resumedRows;
  let rowsScanned = resumedRows;
  let rowsUpdated = 0;
  let batches = 0;
  const started = Date.now();
  const failed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failed.signal]) : failed.signal;
  const onBatch = (batch: BatchReport) => {
    batches += 1;
    rowsUpdated += batch.updated;
    rowsDone += batch.updated;
    rowsScanned += batch.batchSize;
    const rowsPerSecond = ((rowsScanned - resumedRows) * 1000) / Math.max(1, Date.now() - started);
    options.log({
      type: 'backfill-progress',
      changeId: plan.changeId,
      direction: plan.direction,
      rowsDone,
      rowsScanned,
      rowsEstimated: walk.rowsEstimated,
      lastKey: batch.lastKey,
      batchSize: batch.batchSize,
      batchMs: batch.batchMs,
      rowsPerSecond,
      jobs: workers,
    });
  };
  const work = async (client: pg.ClientBase) => {
    // A worker's next range starts at the batch size its last one adapted to (many small leaves: no ramp each time).
    let size: number | undefined;
    for (let range = queue.shift(); range && !signal.aborted; range = queue.shift()) {
      const walked = await walk.walk(
        client,
        plan,
        queries,
        range,
        { ...options, signal },
        walk.throttle,
        onBatch,
        size,
      );
      size = walked.batchSize;
      if (!walked.detached) await finishRange(client, plan, range.index!);
      else {
        // The leaf partition left the table mid-walk: its rows are no longer the table's.
        await dropRange(client, plan, range.index!);
        options.log({
          type: 'backfill-partitions',
          changeId: plan.changeId,
          direction: plan.direction,
          found: [],
          skipped: [`${range.table!.schema}.${range.table!.table}`],
        });
      }
    }
  };
  const errors: unknown[] = [];
  const runWorker = async () => {
    try {
      if (workers === 1) return await work(session);
      const worker = await options.openWorker!();
      try {
        await withGuardedSession(worker.client, async () => {
          await addKeyOperatorSchemas(worker.client, plan.keyTypes);
          await work(worker.client);
        });
      } finally {
        await worker.release();
      }
    } catch (error) {
      errors.push(error);
      failed.abort('failure');
    }
  };
  await Promise.all(Array.from({ length: workers }, runWorker));
  const failure = errors.find(
    (error) => !(error instanceof PhasectlError && (error.exitCode === 130 || error.exitCode === 143)),
  );
  if (failure) throw failure;
  if (errors.length > 0 || options.signal?.aborted) {
    const reason: unknown = options.signal?.reason;
    throw new PhasectlError(
      `backfill of ${plan.changeId} stopped; the progress of each of its ${ranges.length} key ranges is saved`,
      {
        exitCode: reason === 'SIGTERM' ? 143 : 130,
        hint: `run \`phasectl backfill ${plan.changeId}\` or \`phasectl migrate\` to resume (every range continues where it stopped)`,
      },
    );
  }
  return { rowsDone, rowsUpdated, batches };
}
