import type { Command } from 'commander';
import { DEFAULT_DEMO_ROWS, runDemo } from '../demo/run-demo.js';
import { useColor } from '../demo/style.js';
import { abortOnSignals } from './signals.js';
import { action, processOutput } from './output.js';
import { BOUNDS } from '../option-bounds.js';
import { bounded, rangeNote } from './parse-number.js';

interface DemoFlags {
  rows?: number;
  showSql?: boolean;
  keep?: boolean;
}

/** `phasectl demo`: a three-release rename on a throwaway embedded PostgreSQL, under simulated traffic. */
export function register(program: Command): void {
  program
    .command('demo')
    .description(
      'rename a column on a throwaway local PostgreSQL while simulated apps write, and prove no write was lost',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ phasectl demo                                    # 300,000 rows, embedded PostgreSQL\n  $ phasectl demo --rows 20000 --show-sql',
    )
    .option(
      '--rows <n>',
      `rows in the sample users table (default ${DEFAULT_DEMO_ROWS.toLocaleString('en-US')})` +
        rangeNote(BOUNDS.demoRows),
      bounded(BOUNDS.demoRows),
    )
    .option('--show-sql', 'print the full SQL of every migration (default: file names and key statements)')
    .option('--keep', 'leave the demo database running and print its URL (Ctrl-C stops and removes it)')
    .action(
      action(async (flags: DemoFlags) => {
        const signals = abortOnSignals();
        const progress: { end?: () => void } = {};
        signals.beforeMessage = () => progress.end?.();
        try {
          const result = await runDemo({
            rows: flags.rows,
            showSql: flags.showSql,
            keep: flags.keep,
            write: (text) => void process.stdout.write(text),
            tty: process.stdout.isTTY === true,
            color: useColor(process.stdout),
            signal: signals.signal,
            onRunnerEvent: signals.track,
            progress,
          });
          const { summary } = result;
          if (result.server) {
            // A throwaway local server: the user needs the full URL to connect, password included.
            processOutput.out(
              `\nthe demo database is still running (local and temporary, removed when you stop it):\n  ${result.server.url}\n` +
                `  try: psql '${result.server.url}' -c '\\d users'\npress Ctrl-C to stop it and delete its files`,
            );
            await new Promise<void>((resolve) =>
              signals.signal.addEventListener('abort', () => resolve(), { once: true }),
            );
            await result.server.stop();
          }
          return summary.lost.length === 0 && summary.failedWrites === 0 ? 0 : 1;
        } finally {
          signals.dispose();
        }
      }),
    );
}
