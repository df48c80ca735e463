import { describeBlocker } from './blocker-watch.js';

/**
 * `CREATE/DROP INDEX CONCURRENTLY` wait for older transactions (a pg_dump, a report) without blocking the
 * application: rather than timing out, the runner waits and says who it waits for, once after `firstAfterMs`
 * of waiting and then every `everyMs`. A second connection asks pg_blocking_pids(); query text only with
 * `--show-blocker-queries` (see describeBlocker). Best effort: failures are ignored.
 */
export class IndexWaitReporter {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private readonly started = Date.now();
  private waitingSince: number | undefined;
  private lastReport: number | undefined;

  constructor(
    private readonly sessionPid: number,
    private readonly monitor: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
    private readonly report: (seconds: number, blockers: string) => void,
    private readonly showQueries = false,
    private readonly pollMs = 500,
    private readonly firstAfterMs = 2000,
    private readonly everyMs = 10_000,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const rows = await this.monitor(
        `SELECT a.pid, a.state, a.usename, a.application_name,
                extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::int AS seconds,
                CASE WHEN $2 THEN pg_catalog.left(a.query, 2000) END AS query
           FROM pg_catalog.pg_stat_activity a
          WHERE a.pid = ANY (pg_catalog.pg_blocking_pids($1))
          ORDER BY a.pid`,
        [this.sessionPid, this.showQueries],
      );
      const now = Date.now();
      if (rows.length === 0) {
        this.waitingSince = undefined;
        return;
      }
      this.waitingSince ??= now;
      const due =
        this.lastReport === undefined
          ? now - this.waitingSince >= this.firstAfterMs
          : now - this.lastReport >= this.everyMs;
      if (!due || this.timer === undefined) return;
      this.lastReport = now;
      this.report(Math.round((now - this.started) / 1000), rows.map(describeBlocker).join('; '));
    } catch {
      // diagnostics only
    } finally {
      this.inFlight = false;
    }
  }
}
