import { InputError } from './errors.js';

/**
 * The accepted range of every numeric option, shared by the CLI flags (checked while parsing, before anything
 * runs) and the library API (checked first thing in migrate, rollback, backfill, verify and demo). Exit 2 outside.
 * Why these bounds: 0 is never a silent "no limit" (lock_timeout = 0 means "wait forever" in PostgreSQL, a
 * batch of 0 rows never advances); the maxima are far beyond any sane use and catch typos (ms for seconds).
 */
export interface OptionBound {
  /** The CLI flag. */
  flag: string;
  /** The library option. */
  option: string;
  min: number;
  max: number;
  unit: string;
}

const bound = (flag: string, option: string, min: number, max: number, unit: string): OptionBound => ({
  flag,
  option,
  min,
  max,
  unit,
});

export const BOUNDS = {
  /** 1 ms … 10 minutes: lock_timeout 0 would disable the timeout and let the DDL queue the application behind it. */
  lockTimeoutMs: bound('--lock-timeout', 'lockTimeoutMs', 1, 600_000, 'ms'),
  /** 0 (give up at the first lock timeout) … 24 hours. */
  retryForSeconds: bound('--retry-for', 'retryForSeconds', 0, 86_400, 's'),
  /** 0 (fail at once when another run holds the lock) … 24 hours. */
  waitLockSeconds: bound('--wait-lock', 'waitLockSeconds', 0, 86_400, 's'),
  /** First backfill batch: 1 … 1,000,000 rows (one batch holds its row locks until it commits). */
  batchSize: bound('--batch-size', 'batchSize', 1, 1_000_000, 'rows'),
  /** Target duration of a batch: 1 ms … 60 s. */
  targetBatchMs: bound('--target-batch-ms', 'targetBatchMs', 1, 60_000, 'ms'),
  /** Pause between batches: 0 … 10 minutes. */
  pauseMs: bound('--pause-ms', 'pauseMs', 0, 600_000, 'ms'),
  /** First counting batch of verify: 1 … 10,000,000 rows (read only; later batches adapt). */
  verifyBatchSize: bound('--batch-size', 'batchSize', 1, 10_000_000, 'rows'),
  /**
   * Parallel backfill/verify workers: 1 … 64 connections. Each is one more backend doing writes; beyond the server's
   * cores (and its max_connections headroom) more jobs only queue.
   */
  jobs: bound('--jobs', 'jobs', 1, 64, 'jobs'),
  /** Replica lag that pauses a backfill: 1 s … 24 hours. */
  maxReplicationLagSeconds: bound('--max-replication-lag', 'maxReplicationLagSeconds', 1, 86_400, 's'),
  /** Rows of the demo's sample table: 1 … 50,000,000. */
  demoRows: bound('--rows', 'rows', 1, 50_000_000, 'rows'),
} as const;

/** `1–600000 ms`, for help texts and messages. */
export function describeRange(range: OptionBound): string {
  return `${range.min}–${range.max} ${range.unit}`;
}

/** Why `value` is out of range, or undefined when it is a whole number inside it. */
export function outOfRange(range: OptionBound, value: number): string | undefined {
  if (!Number.isInteger(value)) return `must be a whole number between ${range.min} and ${range.max} ${range.unit}`;
  if (value < range.min || value > range.max) return `must be between ${range.min} and ${range.max} ${range.unit}`;
  return undefined;
}

/** Library API: throws InputError (exit 2) when a given option is outside its bound; undefined means the default. */
export function checkOptions(values: Array<[OptionBound, number | undefined]>): void {
  for (const [range, value] of values) {
    if (value === undefined) continue;
    const problem = outOfRange(range, value);
    if (problem)
      throw new InputError(`${range.option} ${value} ${problem}`, {
        hint: `give ${range.option} (CLI: ${range.flag}) a value in ${describeRange(range)}`,
      });
  }
}

/** The numeric options of migrate / rollback (RunOptions). */
export function checkRunOptions(options: {
  lockTimeoutMs?: number;
  retryForSeconds?: number;
  waitLockSeconds?: number;
  backfill?: {
    batchSize?: number;
    targetBatchMs?: number;
    pauseMs?: number;
    jobs?: number;
    maxReplicationLagSeconds?: number;
  };
}): void {
  checkOptions([
    [BOUNDS.lockTimeoutMs, options.lockTimeoutMs],
    [BOUNDS.retryForSeconds, options.retryForSeconds],
    [BOUNDS.waitLockSeconds, options.waitLockSeconds],
    [BOUNDS.batchSize, options.backfill?.batchSize],
    [BOUNDS.targetBatchMs, options.backfill?.targetBatchMs],
    [BOUNDS.pauseMs, options.backfill?.pauseMs],
    [BOUNDS.jobs, options.backfill?.jobs],
    [BOUNDS.maxReplicationLagSeconds, options.backfill?.maxReplicationLagSeconds],
  ]);
}

/** The numeric options of a backfill run. */
export function checkBackfillOptions(options: {
  batchSize?: number;
  targetBatchMs?: number;
  pauseMs?: number;
  lockTimeoutMs?: number;
  retry?: { retryForSeconds?: number };
  jobs?: number;
  maxReplicationLagSeconds?: number;
}): void {
  checkOptions([
    [BOUNDS.jobs, options.jobs],
    [BOUNDS.maxReplicationLagSeconds, options.maxReplicationLagSeconds],
    [BOUNDS.batchSize, options.batchSize],
    [BOUNDS.targetBatchMs, options.targetBatchMs],
    [BOUNDS.pauseMs, options.pauseMs],
    [BOUNDS.lockTimeoutMs, options.lockTimeoutMs],
    [BOUNDS.retryForSeconds, options.retry?.retryForSeconds],
  ]);
}
