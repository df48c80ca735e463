import type { BackfillRate, LongestLock } from './run-timings.js';
import type { LostWrite } from './lost-writes.js';
import type { Style } from './style.js';

export interface DemoSummary {
  updates: number;
  inserts: number;
  byVersion: { old: number; new: number };
  failedWrites: number;
  writeErrors: string[];
  rowsChecked: number;
  lost: LostWrite[];
  longestLock?: LongestLock;
  slowestWriteMs: number;
  backfills: BackfillRate[];
  totalMs: number;
}

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The closing summary of the demo, one fact per line. Pure. */
export function formatSummary(summary: DemoSummary, s: Style): string {
  const writes = summary.updates + summary.inserts;
  const lost = summary.lost.length;
  const lines = [
    s.bold('summary'),
    `  writes made:        ${count(writes)} (${count(summary.updates)} updates, ${count(summary.inserts)} inserts; old app ${count(summary.byVersion.old)}, new app ${count(summary.byVersion.new)})`,
    `  writes lost: ${lost === 0 ? s.green('0') : s.red(String(lost))}      (all ${count(summary.rowsChecked)} rows checked: each holds the last value committed for it)`,
    `  failed writes:      ${summary.failedWrites === 0 ? '0' : s.red(count(summary.failedWrites))}`,
    `  longest lock held:  ${summary.longestLock ? `${count(summary.longestLock.ms)} ms (${summary.longestLock.file})` : 'none'}`,
    `  slowest app write:  ${count(summary.slowestWriteMs)} ms`,
    ...summary.backfills.map(
      (b) =>
        `  backfill rate:      ${count(b.rowsPerSecond)} rows/s (${count(b.rows)} rows updated in ${seconds(b.ms)}, ${b.changeId} ${b.direction})`,
    ),
    `  total time:         ${seconds(summary.totalMs)}`,
  ];
  for (const row of summary.lost.slice(0, 5)) {
    lines.push(
      s.red(
        `  lost: id ${row.id} should hold ${JSON.stringify(row.expected)} but ${row.found === undefined ? 'the row is missing' : `holds ${JSON.stringify(row.found)}`}`,
      ),
    );
  }
  for (const error of summary.writeErrors) lines.push(s.red(`  failed: ${error}`));
  return `${lines.join('\n')}\n`;
}
