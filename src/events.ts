/**
 * What the runner and the backfill engine report while they work. The CLI prints these
 * (plain lines, or one JSON object per line with --json); library callers pass `log`.
 */
export type RunnerEvent =
  | { type: 'lock-wait'; holders: string }
  | { type: 'lock-acquired' }
  | { type: 'file-start'; file: string; transaction: boolean; action: string }
  | { type: 'file-done'; file: string; durationMs: number }
  | { type: 'file-dry-run'; file: string; sql: string; action: string; note?: string }
  | { type: 'index-rebuild'; file: string; index: string }
  | { type: 'index-wait'; file: string; index: string; seconds: number; blockers: string }
  | { type: 'retry'; file: string; attempt: number; delayMs: number; reason: string; blockers?: string }
  | {
      type: 'backfill-start';
      changeId: string;
      direction: string;
      upperKey: string[] | null;
      rowsEstimated: number;
      resumedFrom: string[] | null;
    }
  | {
      type: 'backfill-progress';
      changeId: string;
      direction: string;
      rowsDone: number;
      rowsScanned: number;
      rowsEstimated: number;
      lastKey: string[];
      batchSize: number;
      batchMs: number;
      rowsPerSecond: number;
      jobs?: number;
    }
  | { type: 'backfill-throttled'; changeId: string; direction: string; reason: string }
  | { type: 'backfill-resumed'; changeId: string; direction: string; pausedMs: number }
  | {
      /** A partitioned table's backfill found leaf partitions to walk, or skipped ones that left the table. */
      type: 'backfill-partitions';
      changeId: string;
      direction: string;
      found: string[];
      skipped: string[];
    }
  | { type: 'backfill-done'; changeId: string; direction: string; rowsDone: number; alreadyFinished: boolean }
  | { type: 'verify-progress'; changeId: string; checked: number; differing: number }
  /** `asCopied`: the backfill verified its copy as it made it and no walk ran (src/backfill/copy-check.ts). */
  | { type: 'verify-done'; changeId: string; differing: number; asCopied?: boolean }
  | { type: 'rollback-group'; changeId: string; phase: number }
  | { type: 'up-to-date' }
  /** A migration file another phasectl version wrote, accepted by its header (src/generate/version-judge.ts). */
  | { type: 'kept-file'; level: 'note' | 'warning'; message: string; file?: string };

export type EventLog = (event: RunnerEvent) => void;

/** The default: say nothing. */
export const silent: EventLog = () => undefined;
