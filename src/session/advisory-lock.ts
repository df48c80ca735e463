import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import type { EventLog } from '../events.js';

/**
 * Session-level advisory lock key held by every `phasectl migrate` / `rollback` for the whole run
 * ('phas' in ASCII). A bigint key below 2^32 shows in pg_locks as classid 0, objid = key, objsubid 1.
 */
export const RUN_LOCK_KEY = 1885888883;

/**
 * Who holds the run lock, for messages: `backend pid 123, application "phasectl migrate", client 10.0.0.5`.
 * The pid is the PostgreSQL backend's (pg_stat_activity.pid), not a process on the machine that runs phasectl.
 */
export async function describeRunLockHolders(
  query: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
): Promise<string> {
  const rows = await query(
    `SELECT l.pid, a.application_name, pg_catalog.host(a.client_addr) AS client, a.backend_start
       FROM pg_catalog.pg_locks l LEFT JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = $1::bigint::oid AND l.objsubid = 1 AND l.granted
        AND l.database = (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())`,
    [RUN_LOCK_KEY],
  ).catch(() => []);
  if (rows.length === 0) return 'backend pid unknown';
  return rows
    .map(
      (row) =>
        `backend pid ${row.pid}, application ${JSON.stringify(row.application_name ?? '')}, client ${row.client ?? 'local socket'}`,
    )
    .join('; ');
}

/**
 * Takes the run lock on `session`, waiting up to `waitSeconds` (0 = fail at once) by polling
 * pg_try_advisory_lock, so we never sit in the lock queue. Throws RuntimeFailure (exit 3) naming the holder.
 */
export async function acquireRunLock(
  session: pg.ClientBase,
  monitor: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>,
  options: { waitSeconds: number; log: EventLog; sleep?: (ms: number) => Promise<void> },
): Promise<void> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + options.waitSeconds * 1000;
  let announced = false;
  for (;;) {
    const { rows } = await session.query<{ ok: boolean }>('SELECT pg_catalog.pg_try_advisory_lock($1::bigint) AS ok', [
      RUN_LOCK_KEY,
    ]);
    if (rows[0]?.ok) {
      if (announced) options.log({ type: 'lock-acquired' });
      return;
    }
    const holders = await describeRunLockHolders(monitor);
    if (Date.now() >= deadline) {
      throw new RuntimeFailure(`another phasectl migrate is running (${holders}); nothing was changed`, {
        hint:
          options.waitSeconds > 0
            ? `it held the lock for more than ${options.waitSeconds}s: let it finish, or check that process; rerun \`phasectl migrate\` afterwards`
            : 'wait for it to finish and rerun, or pass --wait-lock <seconds> to wait for it',
      });
    }
    if (!announced) {
      options.log({ type: 'lock-wait', holders });
      announced = true;
    }
    await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
  }
}

/** Releases the run lock; errors are ignored (closing the session releases it anyway). */
export async function releaseRunLock(session: pg.ClientBase): Promise<void> {
  await session.query('SELECT pg_catalog.pg_advisory_unlock($1::bigint)', [RUN_LOCK_KEY]).catch(() => undefined);
}
