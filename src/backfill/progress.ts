import type { RunnerEvent } from '../events.js';

/** `[#########-----------]  45% 9,000/20,000 rows  3,100 rows/s  ETA 4s`. Pure. */
export function progressLine(
  rowsDone: number,
  rowsEstimated: number,
  rowsPerSecond: number,
  etaSeconds: number | undefined,
  width = 24,
): string {
  const fraction = rowsEstimated > 0 ? Math.min(1, rowsDone / rowsEstimated) : 0;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const pct = `${Math.round(fraction * 100)}%`.padStart(4);
  const eta = etaSeconds === undefined ? '' : `  ETA ${formatSeconds(etaSeconds)}`;
  return `${bar} ${pct} ${rowsDone.toLocaleString('en-US')}/~${rowsEstimated.toLocaleString('en-US')} rows  ${Math.round(rowsPerSecond).toLocaleString('en-US')} rows/s${eta}`;
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Shows backfill progress events: on a TTY one bar redrawn in place with `\r`; otherwise one plain
 * line every `intervalMs` (default 5 s), so CI logs stay short. Other events pass through untouched.
 */
export function backfillProgressReporter(options: {
  write: (text: string) => void;
  tty: boolean;
  intervalMs?: number;
  now?: () => number;
}) {
  const now = options.now ?? Date.now;
  const interval = options.intervalMs ?? 5000;
  let lastPrinted = 0;
  let barOpen = false;
  return {
    /** Ends an open bar with a newline, so what is printed next (a stop message, an error) starts on its own line. */
    end(): void {
      if (barOpen) {
        options.write('\n');
        barOpen = false;
      }
    },
    /** Returns true when the event was a backfill progress event it handled. */
    handle(event: RunnerEvent): boolean {
      if (event.type !== 'backfill-progress') {
        if (barOpen) {
          options.write('\n');
          barOpen = false;
        }
        return false;
      }
      // The bar follows rows walked; rows_done (rows that needed a write) is shown beside it.
      const eta =
        event.rowsPerSecond > 0 && event.rowsEstimated > 0
          ? Math.max(0, event.rowsEstimated - event.rowsScanned) / event.rowsPerSecond
          : undefined;
      const line = `backfill ${event.changeId} (${event.direction}${event.jobs ? `, ${event.jobs} jobs` : ''}) ${progressLine(event.rowsScanned, event.rowsEstimated, event.rowsPerSecond, eta)}, ${event.rowsDone.toLocaleString('en-US')} updated`;
      if (options.tty) {
        options.write(`\r${line}\u001b[K`);
        barOpen = true;
      } else if (now() - lastPrinted >= interval) {
        options.write(`${line}  last key ${event.lastKey.join(',')}\n`);
        lastPrinted = now();
      }
      return true;
    },
  };
}
