/**
 * `--lock-timeout` without touching the files: the runner runs each file as written, and right after a
 * statement that sets lock_timeout (`SET [LOCAL] lock_timeout …`, `RESET lock_timeout`, read by PostgreSQL's
 * own parser) it sets the override in the same scope. Before a file it is also the session's default. So a
 * file keeps its own safe value for any other runner (psql, kysely, db-migrate), its text and checksum are
 * what was reviewed, and `--lock-timeout` still wins for the statements that follow the file's own SET.
 */
import type pg from 'pg';
import { parseStatement, SqlParseError } from '../sql/parser.js';

/** Default lock_timeout for files that do not set one, and for backfill batches. */
export const DEFAULT_LOCK_TIMEOUT_MS = 2000;

/** Where a statement sets lock_timeout: `local` (this transaction), `session`, or undefined when it does not. Pure. */
export function lockTimeoutScope(statement: string): 'local' | 'session' | undefined {
  // Cheap test first: most statements never mention it, and the parser is not free.
  if (!statement.toLowerCase().includes('lock_timeout')) return undefined;
  let tree: unknown;
  try {
    tree = parseStatement(statement);
  } catch (error) {
    if (error instanceof SqlParseError) return undefined; // not ours to judge: PostgreSQL will say what is wrong
    throw error;
  }
  const set = (tree as { VariableSetStmt?: { name?: string; is_local?: boolean } }).VariableSetStmt;
  // PostgreSQL reads setting names in any case, quoted or not: `SET "Lock_Timeout" = 0` sets lock_timeout.
  if (set?.name?.toLowerCase() !== 'lock_timeout') return undefined;
  return set.is_local ? 'local' : 'session';
}

/** The statement that applies the override `ms` in `scope`. */
export function lockTimeoutSql(scope: 'local' | 'session', ms: number): string {
  return `SET${scope === 'local' ? ' LOCAL' : ''} lock_timeout = '${Math.round(ms)}ms'`;
}

/**
 * How many times shorter than deadlock_timeout phasectl's lock waits are, where an application transaction may be
 * waiting for phasectl at the same time as phasectl waits for it (a backfill batch's row locks, a move's expand).
 *
 * PostgreSQL looks for a deadlock only in a backend whose wait has lasted deadlock_timeout, and aborts that backend.
 * An application transaction that began waiting for phasectl at `a` is checked at `a + deadlock_timeout`; phasectl,
 * which closes the cycle at `p ≥ a`, gives up at `p + lock_timeout`. The application is safe while
 * `p - a + lock_timeout < deadlock_timeout`, where `p - a` is the work and the earlier lock waits of phasectl's
 * transaction after the application queued behind it. A third leaves a third of deadlock_timeout for the work after
 * one earlier wait as long as this one (a move's expand: the source table, then the target). Not airtight: a batch
 * that waited several times, or work slower than that, still lets the application's check fire first.
 */
export const DEADLOCK_TIMEOUT_SHARE = 3;

/**
 * The lock_timeout to wait with (ms): `lockTimeoutMs` (the user's bound), capped at deadlock_timeout / 3 and never
 * below 1 ms (0 would mean no limit at all). Pure.
 */
export function giveWayLockTimeoutMs(lockTimeoutMs: number, deadlockTimeoutMs: number | undefined): number {
  const bound = Math.max(1, Math.round(lockTimeoutMs));
  if (deadlockTimeoutMs === undefined || !(deadlockTimeoutMs > 0)) return bound;
  return Math.max(1, Math.min(bound, Math.floor(deadlockTimeoutMs / DEADLOCK_TIMEOUT_SHARE)));
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 };

/** A time setting as `current_setting` shows it (`1s`, `200ms`, `1min`, `0`) in ms; undefined if unreadable. Pure. */
export function parseSettingMs(setting: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/.exec(setting);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2] ?? 'ms']!;
}

/** The session's deadlock_timeout in ms (undefined if it cannot be read: then no cap). */
export async function readDeadlockTimeoutMs(session: pg.ClientBase): Promise<number | undefined> {
  const { rows } = await session.query<{ setting: string }>(
    `SELECT pg_catalog.current_setting('deadlock_timeout') AS setting`,
  );
  return rows[0] ? parseSettingMs(rows[0].setting) : undefined;
}
