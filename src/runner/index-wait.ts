import { BlockerWatch } from './blocker-watch.js';

/**
 * `CREATE/DROP INDEX CONCURRENTLY` wait for older transactions (a pg_dump, a report) without blocking the
 * application: rather than timing out, the runner waits and says who it waits for, once after `firstAfterMs`
 * of waiting and then every `everyMs`. Who is in the way comes from a BlockerWatch (pg_blocking_pids() on a
 * second connection; query text only with `--show-blocker-queries`). Best effort: failures are ignored.
 */
export class IndexWaitReporter {
  private readonly watch: BlockerWatch;
  private readonly started = Date.now();
  private waitingSince: number | undefined;
  private lastReport: number | undefined;

  constructor(
    sessionPid: number,
    monitor: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
    private readonly report: (seconds: number, blockers: string) => void,
    showQueries = false,
    pollMs = 500,
    private readonly firstAfterMs = 2000,
    private readonly everyMs = 10_000,
  ) {
    this.watch = new BlockerWatch(sessionPid, monitor, pollMs, showQueries, (blockers) => this.observe(blockers));
  }

  start(): void {
    this.watch.start();
  }

  stop(): void {
    this.watch.stop();
  }

  private observe(blockers: string | undefined): void {
    const now = Date.now();
    if (blockers === undefined) {
      this.waitingSince = undefined;
      return;
    }
    this.waitingSince ??= now;
    const due =
      this.lastReport === undefined
        ? now - this.waitingSince >= this.firstAfterMs
        : now - this.lastReport >= this.everyMs;
    if (!due) return;
    this.lastReport = now;
    this.report(Math.round((now - this.started) / 1000), blockers);
  }
}
