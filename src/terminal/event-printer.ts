import { backfillProgressReporter } from '../backfill/progress.js';
import type { EventLog, RunnerEvent } from '../events.js';
import { style, type Style } from './color.js';

/** One plain line per event (undefined = nothing to say in plain mode). Pure. */
export function formatEvent(event: RunnerEvent): string | undefined {
  switch (event.type) {
    case 'lock-wait':
      return `waiting: another phasectl migrate is running (${event.holders})`;
    case 'lock-acquired':
      return 'lock acquired';
    case 'file-start':
      return `applying ${event.file}${event.action !== 'sql' ? ` (${event.action})` : event.transaction ? '' : ' (outside a transaction)'}`;
    case 'file-done':
      return `  done in ${event.durationMs} ms`;
    case 'file-dry-run':
      return `-- ${event.file}${event.action !== 'sql' ? ` (action=${event.action})` : ''}\n${event.note ? `-- ${event.note.replace(/\n/g, '\n-- ')}\n` : event.sql}`;
    case 'index-rebuild':
      return `  dropped invalid index ${event.index} left by an earlier failed build; rebuilding it`;
    case 'index-wait':
      return `  index ${event.index}: waiting ${event.seconds}s for older transactions to finish (the application is not blocked): ${event.blockers}`;
    case 'retry':
      return `  ${event.file}: ${event.reason}; retry ${event.attempt} in ${event.delayMs} ms${event.blockers ? `; blocked by ${event.blockers}` : ''}`;
    case 'backfill-start':
      return `  backfill ${event.changeId} (${event.direction}): ~${event.rowsEstimated} rows up to key ${event.upperKey?.join(',') ?? '(empty table)'}${event.resumedFrom ? `, resuming after key ${event.resumedFrom.join(',')}` : ''}`;
    case 'backfill-progress':
      return `  backfill ${event.changeId}: ${event.rowsDone} rows updated, at key ${event.lastKey.join(',')}`;
    case 'backfill-done':
      return event.alreadyFinished
        ? `  backfill ${event.changeId} (${event.direction}) already finished (${event.rowsDone} rows): nothing to do (if verify finds rows that differ: \`phasectl backfill ${event.changeId} --repair\`)`
        : `  backfill ${event.changeId} (${event.direction}) finished: ${event.rowsDone} rows updated`;
    case 'backfill-partitions':
      return [
        event.found.length > 0
          ? `  backfill ${event.changeId} (${event.direction}): ${event.found.length} leaf partition(s) to walk: ${event.found.join(', ')}`
          : undefined,
        event.skipped.length > 0
          ? `  backfill ${event.changeId} (${event.direction}): skipped ${event.skipped.join(', ')}: no longer a partition of the table`
          : undefined,
      ]
        .filter((line) => line !== undefined)
        .join('\n');
    case 'backfill-throttled':
      return `  backfill ${event.changeId} (${event.direction}) paused: ${event.reason}`;
    case 'backfill-resumed':
      return `  backfill ${event.changeId} (${event.direction}) resumed after ${Math.round(event.pausedMs / 1000)} s paused`;
    case 'verify-progress':
      return undefined;
    case 'verify-done':
      return event.asCopied
        ? `  verify ${event.changeId}: ${event.differing} differing row(s), verified as copied (the sync triggers stayed unchanged from the first batch to the last)`
        : `  verify ${event.changeId}: ${event.differing} differing row(s)`;
    case 'rollback-group':
      return `rolling back phase ${event.phase} of ${event.changeId}`;
    case 'up-to-date':
      return 'database is up to date';
    case 'kept-file':
      return `${event.level}: ${event.file ? `${event.file}: ` : ''}${event.message}`;
  }
}

/** A plain line coloured by the kind of event (the caller decides whether colour is on). */
export function colourEvent(event: RunnerEvent, line: string, paint: Style): string {
  switch (event.type) {
    case 'file-start':
    case 'rollback-group':
      return paint.bold(line);
    case 'file-done':
      return paint.dim(line);
    case 'file-dry-run':
      return line.replace(/^-- .*$/m, (header) => paint.cyan(header));
    case 'retry':
    case 'backfill-throttled':
    case 'lock-wait':
    case 'index-rebuild':
      return paint.yellow(line);
    case 'kept-file':
      return event.level === 'warning' ? paint.yellow(line) : line;
    case 'backfill-done':
    case 'up-to-date':
      return paint.green(line);
    case 'verify-done':
      return event.differing === 0 ? paint.green(line) : paint.red(line);
    default:
      return line;
  }
}

/**
 * The CLI's `log`: plain lines (backfill progress as a bar on a TTY, a line every 5 s otherwise),
 * one JSON object per line with `json` (never coloured), nothing with `quiet` (errors still print).
 * `color` colours plain lines (the CLI passes useColor(process.stdout)).
 */
export function eventPrinter(options: {
  json?: boolean;
  quiet?: boolean;
  tty: boolean;
  color?: boolean;
  write: (text: string) => void;
}): EventLog & { end(): void } {
  if (options.quiet) return Object.assign(() => undefined, { end: () => undefined });
  if (options.json)
    return Object.assign(
      (event: RunnerEvent) =>
        options.write(`${JSON.stringify(event)}
`),
      { end: () => undefined },
    );
  const progress = backfillProgressReporter({ write: options.write, tty: options.tty });
  const paint = style(options.color === true);
  const log = (event: RunnerEvent) => {
    if (progress.handle(event)) return;
    const plain = formatEvent(event);
    const line = plain === undefined ? undefined : colourEvent(event, plain, paint);
    if (line !== undefined) options.write(line.endsWith('\n') ? line : `${line}\n`);
  };
  // `end` closes an open progress bar before an error or a stop message is printed on the terminal.
  return Object.assign(log, { end: () => progress.end() });
}
