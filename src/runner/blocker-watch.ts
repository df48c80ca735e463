import { printable } from '../spec/name-guard.js';
import { maskLiterals } from '../sql/mask-literals.js';

/**
 * While our session waits for a lock, a second connection asks pg_blocking_pids() who is in the way,
 * so that giving up can name the blocking sessions: pid, user, application, state and age. Their query text
 * is another session's business (it may hold `ALTER ROLE … PASSWORD '…'`): it is read only when `showQueries`
 * (`--show-blocker-queries`), and then printed with its constants masked. Best effort: failures are ignored.
 * `onPoll` sees every answer, also "nobody" (undefined), while the watch runs (index-wait.ts reports from it).
 */
export class BlockerWatch {
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  /** The last non-empty description seen, e.g. `pid 42 (user app, application web, idle in transaction for 31s)`. */
  lastSeen: string | undefined;

  constructor(
    private readonly sessionPid: number,
    private readonly monitor: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
    private readonly intervalMs = 250,
    private readonly showQueries = false,
    private readonly onPoll?: (blockers: string | undefined) => void,
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
        `SELECT a.pid, a.state, a.usename, a.application_name,
                extract(epoch FROM now() - coalesce(a.xact_start, a.query_start))::int AS seconds,
                CASE WHEN $2 THEN pg_catalog.left(a.query, 2000) END AS query
           FROM pg_catalog.pg_stat_activity a
          WHERE a.pid = ANY (pg_catalog.pg_blocking_pids($1))
          ORDER BY a.pid`,
        [this.sessionPid, this.showQueries],
      );
      const blockers = rows.length > 0 ? rows.map(describeBlocker).join('; ') : undefined;
      if (blockers !== undefined) this.lastSeen = blockers;
      // A poll in flight when stop() came reports nothing.
      if (this.timer !== undefined) this.onPoll?.(blockers);
    } catch {
      // diagnostics only
    } finally {
      this.inFlight = false;
    }
  }
}

/** `pid 42 (user app, application web, idle in transaction for 31s)`, plus `: <masked query>` when it was read. */
export function describeBlocker(row: Record<string, unknown>): string {
  const parts = [
    // Role and application names are chosen by other sessions: nothing invisible reaches the terminal.
    row.usename ? `user ${printable(String(row.usename))}` : undefined,
    row.application_name ? `application ${printable(String(row.application_name))}` : undefined,
    `${row.state ?? 'unknown'} for ${row.seconds ?? '?'}s`,
  ].filter((part) => part !== undefined);
  const query = typeof row.query === 'string' ? `: ${printable(maskLiterals(row.query)).slice(0, 200)}` : '';
  return `pid ${row.pid} (${parts.join(', ')})${query}`;
}
