import type pg from 'pg';
import type { EventLog } from '../events.js';
import type { BackfillPlan } from '../operations/types.js';
import type { RetryPolicy } from '../session/lock-retry.js';
import type { KeyRange } from './key-range.js';
import type { KeysetQueries } from './keyset.js';
import type { Throttle, ThrottleOptions } from './throttle.js';

// The backfill's option and result shapes, apart from the engine so that parallel.ts can use them without a cycle.

/** One more connection for a parallel worker; `release` closes it. */
export interface WorkerConnection {
  client: pg.ClientBase;
  release(): Promise<void>;
}

export interface BackfillOptions extends ThrottleOptions {
  /**
   * Key ranges walked at once, each on its own connection (default 1). More than 1 needs `openWorker`. The ranges
   * are cut once and stored: a resume walks the stored ranges, whatever its own job count.
   */
  jobs?: number;
  /** Opens one more connection to the same database for a parallel worker (`jobs` > 1); `release` closes it. */
  openWorker?: () => Promise<WorkerConnection>;
  /** First batch size (default 1000); adapted after each batch. */
  batchSize?: number;
  /**
   * Target duration of one batch in ms (default 50): half of the 100 ms we allow a batch to hold its row
   * locks, so that the spikes of a checkpoint or a busy CPU (2–3× the usual batch) still stay under it.
   */
  targetBatchMs?: number;
  /**
   * Wait for every batch's commit to be flushed to disk (default false: `synchronous_commit = off` per batch,
   * safe because a batch's rows and its progress commit together; see beginBatchSql). Set it to keep
   * synchronous standbys in step batch by batch.
   */
  durableBatches?: boolean;
  /** Sleep between batches in ms (default 0): gives replicas and autovacuum room. */
  pauseMs?: number;
  /**
   * Upper bound of each batch's lock_timeout (default 2 s); the batch waits at most a third of deadlock_timeout
   * (giveWayLockTimeoutMs), so an application transaction waiting for it is never the deadlock victim. A batch that
   * times out is retried with backoff.
   */
  lockTimeoutMs?: number;
  retry?: RetryPolicy;
  log?: EventLog;
  /** Checked between batches: the current batch always commits first. reason 'SIGTERM' → exit 143, else 130. */
  signal?: AbortSignal;
  /**
   * Walk the whole table again even if the backfill finished, rewriting exactly the rows whose columns differ
   * (what verify counts): the repair after a write the sync missed. Resumable like a first run.
   */
  repair?: boolean;
}

export interface BackfillResult {
  changeId: string;
  direction: 'up' | 'down';
  /** Rows this run rewrote. */
  rowsUpdated: number;
  /** Rows rewritten over all runs (phasectl.backfills.rows_done). */
  rowsDone: number;
  alreadyFinished: boolean;
  batches: number;
  /**
   * This run copied every row itself, with the table's triggers unchanged from its first batch to its last
   * (src/backfill/copy-check.ts): no walk is needed to verify it. Absent otherwise.
   */
  verifiedAsCopied?: boolean;
}

/** What one committed batch reports to the progress display. */
export interface BatchReport {
  updated: number;
  lastKey: string[];
  batchSize: number;
  batchMs: number;
}

/**
 * Walks one key range batch by batch (the engine's walkRange, handed to the parallel and partition walks): what it
 * rewrote, in how many batches, the batch size it ended with, and `detached` when its leaf partition left the table.
 */
export type RangeWalk = (
  session: pg.ClientBase,
  plan: BackfillPlan,
  queries: KeysetQueries,
  range: KeyRange,
  options: BackfillOptions,
  throttle: Throttle | undefined,
  onBatch: (batch: BatchReport) => void,
  /** The size the worker's previous range ended with: the next range starts there, not from the first size again. */
  startSize?: number,
) => Promise<{ updated: number; batches: number; detached?: boolean; batchSize: number }>;
