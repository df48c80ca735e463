import type { EventLog, RunnerEvent } from '../events.js';

/** The longest transactional step of the run: its locks are held from BEGIN to COMMIT. */
export interface LongestLock {
  file: string;
  ms: number;
}

export interface BackfillRate {
  changeId: string;
  direction: string;
  rows: number;
  ms: number;
  rowsPerSecond: number;
}

/**
 * Measures, from the runner's events, how long each transactional SQL step ran (start → done; a retry
 * restarts the clock after its back-off, since the failed attempt rolled back and released its locks)
 * and each backfill's rate (rows rewritten ÷ time). `now` is injectable so the arithmetic is testable.
 */
export function runTimings(now: () => number = () => performance.now()) {
  const open = new Map<string, { start: number; timed: boolean }>();
  const locks: LongestLock[] = [];
  const backfills: BackfillRate[] = [];
  let backfill: { changeId: string; direction: string; start: number } | undefined;
  const log: EventLog = (event: RunnerEvent) => {
    switch (event.type) {
      case 'file-start':
        open.set(event.file, { start: now(), timed: event.transaction && event.action === 'sql' });
        break;
      case 'retry': {
        const file = open.get(event.file);
        if (file) file.start = now() + event.delayMs;
        break;
      }
      case 'file-done': {
        const file = open.get(event.file);
        open.delete(event.file);
        if (file?.timed) locks.push({ file: event.file, ms: Math.max(0, now() - file.start) });
        break;
      }
      case 'backfill-start':
        backfill = { changeId: event.changeId, direction: event.direction, start: now() };
        break;
      case 'backfill-done':
        if (backfill && !event.alreadyFinished) {
          const ms = Math.max(1, now() - backfill.start);
          // Rows rewritten (rows already in sync are skipped cheaply and not counted).
          const rows = event.rowsDone;
          backfills.push({
            changeId: event.changeId,
            direction: event.direction,
            rows,
            ms,
            rowsPerSecond: (rows * 1000) / ms,
          });
        }
        backfill = undefined;
        break;
      default:
        break;
    }
  };
  return {
    log,
    /** Every timed transactional step, in the order they finished. */
    locks,
    backfills,
    longestLock(): LongestLock | undefined {
      return locks.reduce<LongestLock | undefined>(
        (longest, lock) => (!longest || lock.ms > longest.ms ? lock : longest),
        undefined,
      );
    },
  };
}
