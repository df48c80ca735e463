import type { EventLog } from '../events.js';
import { acquireRunLock, releaseRunLock } from './advisory-lock.js';
import { requireOriginReplicationRole } from './replication-role.js';
import { openSession, type RunSession } from './session.js';
import { ensureStateSchema } from './state-schema.js';

/**
 * Opens a session for one command (`applicationName` shows in pg_stat_activity), runs `work` with it and
 * closes it whatever happens: what migrate, rollback, backfill, verify and status share.
 */
export async function withSession<T>(
  databaseUrl: string,
  applicationName: string,
  work: (run: RunSession) => Promise<T>,
): Promise<T> {
  const run = await openSession(databaseUrl, applicationName);
  try {
    return await work(run);
  } finally {
    await run.close();
  }
}

/**
 * Creates the state schema when missing and holds the session-level run lock around `work`, so two migrate or
 * rollback runs never interleave. The lock is released even when `work` fails.
 */
export async function withRunLock<T>(
  run: RunSession,
  options: { waitLockSeconds?: number; log: EventLog },
  work: () => Promise<T>,
): Promise<T> {
  await requireOriginReplicationRole(run.session);
  await ensureStateSchema(run.session);
  await acquireRunLock(run.session, run.monitor, { waitSeconds: options.waitLockSeconds ?? 0, log: options.log });
  try {
    return await work();
  } finally {
    await releaseRunLock(run.session);
  }
}
