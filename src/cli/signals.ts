import type { RunnerEvent } from '../events.js';

/**
 * SIGINT/SIGTERM → an AbortSignal the runner and the backfill check between files and batches: the current
 * file or batch finishes and commits, progress is saved, then the command exits 130 (SIGINT) or 143 (SIGTERM).
 * The first signal says so at once on stderr; a second one exits at once: PostgreSQL rolls back the open
 * transaction of the current file when the connection closes, and a backfill batch (one BEGIN … COMMIT sent
 * as a single query) either commits whole or not at all.
 */
export function abortOnSignals(options: { write?: (text: string) => void; exit?: (code: number) => void } = {}): {
  signal: AbortSignal;
  /** Feed it the run's events: it names the file or batch the first signal waits for. */
  track(event: RunnerEvent): void;
  /** Called before the stop message: ends an open progress bar. */
  beforeMessage?: () => void;
  dispose(): void;
} {
  const write = options.write ?? ((text: string) => void process.stderr.write(text));
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const controller = new AbortController();
  let current = 'the current step';
  const handle = {
    signal: controller.signal,
    track(event: RunnerEvent) {
      if (event.type === 'file-start') current = event.file;
      else if (event.type === 'backfill-start') current = `the current batch of the backfill of ${event.changeId}`;
      else if (event.type === 'file-done') current = 'the current step';
    },
    beforeMessage: undefined as (() => void) | undefined,
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
  const onSignal = (name: 'SIGINT' | 'SIGTERM') => {
    const code = name === 'SIGTERM' ? 143 : 130;
    handle.beforeMessage?.();
    if (controller.signal.aborted) {
      write(`${name}: aborting now; PostgreSQL rolls back the transaction of ${current} (exit ${code})\n`);
      exit(code);
      return;
    }
    controller.abort(name);
    write(`${name}: stopping after ${current}; ${name === 'SIGINT' ? 'Ctrl-C' : 'send SIGTERM'} again to abort\n`);
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return handle;
}
