/**
 * While our session waits for a lock, a second connection asks pg_blocking_pids() who is in the way,
 * so that giving up can name the blocking pids and their queries. Best effort: failures are ignored.
 */
export class BlockerWatch {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  /** The last non-empty description seen, e.g. `pid 42 (idle in transaction for 31s): SELECT …`. */
  lastSeen: string | undefined;

  constructor(
    private readonly sessionPid: number,
    private readonly monitor: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async poll(): Promise<void> {
    if (this.inFlight) return;
    this.inFlight = true;
    try {
      const rows = await this.monitor(
        `SELECT a.pid, a.state, a.application_name,
                extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::int AS seconds,
                left(regexp_replace(a.query, '\\s+', ' ', 'g'), 200) AS query
           FROM pg_catalog.pg_stat_activity a
          WHERE a.pid = ANY (pg_catalog.pg_blocking_pids($1))`,
        [this.sessionPid],
      );
      if (rows.length > 0) this.lastSeen = rows.map(describeBlocker).join('; ');
    } catch {
      // diagnostics only
    } finally {
      this.inFlight = false;
    }
  }
}

function describeBlocker(row: Record<string, unknown>): string {
  const app = row.application_name ? ` ${row.application_name}` : '';
  return `pid ${row.pid}${app} (${row.state ?? 'unknown'} for ${row.seconds ?? '?'}s): ${row.query ?? ''}`;
}
