import type { EventLog } from '../events.js';
import { useColor } from '../terminal/color.js';
import { eventPrinter } from '../terminal/event-printer.js';
import { abortOnSignals } from './signals.js';

/** What a long-running command gets from {@link withEventOutput}: where its events go and its stop signal. */
export interface EventOutput {
  log: EventLog;
  signal: AbortSignal;
}

/**
 * Runs a long-running command (migrate, rollback, backfill) with the set-up they share: events printed on
 * stdout (progress bar on a terminal, plain lines otherwise, JSON with --json, nothing with --quiet), and
 * Ctrl-C / SIGTERM turned into a stop between files and batches whose message names the step it waits for.
 */
export async function withEventOutput<T>(
  flags: { json?: boolean; quiet?: boolean },
  work: (output: EventOutput) => Promise<T>,
): Promise<T> {
  const signals = abortOnSignals();
  const printer = eventPrinter({
    json: flags.json,
    quiet: flags.quiet,
    tty: process.stdout.isTTY === true,
    color: useColor(process.stdout),
    write: (t) => void process.stdout.write(t),
  });
  signals.beforeMessage = printer.end;
  try {
    return await work({
      signal: signals.signal,
      log: (event) => {
        signals.track(event);
        printer(event);
      },
    });
  } catch (error) {
    printer.end(); // the error goes on its own line, not on the progress bar's
    throw error;
  } finally {
    signals.dispose();
  }
}
