import type pg from 'pg';
import { InputError } from '../errors.js';

/**
 * Refuses a writing session whose `session_replication_role` is not `origin`. PGOPTIONS, the URL's `options`
 * or a role or database setting can set it to `replica` (a superuser, or a role granted SET on it, may): then
 * the triggers and foreign keys of the tables phasectl writes do not fire for its writes — the table's own (an
 * audit or search-column trigger skips the backfill's updates), and those of phasectl's state tables (a
 * rollback's delete of a backfill's progress no longer cascades to its ranges, so a later backfill resumes from
 * stale ones). It cannot be pinned at start-up like search_path: an ordinary role may not set it at all.
 */
export async function requireOriginReplicationRole(session: pg.ClientBase): Promise<void> {
  const { rows } = await session.query<{ role: string }>(
    `SELECT pg_catalog.current_setting('session_replication_role') AS role`,
  );
  const role = rows[0]?.role ?? 'origin';
  if (role === 'origin') return;
  throw new InputError(
    `phasectl's session runs with session_replication_role = ${role}: triggers and foreign keys would not fire for ` +
      `the rows it writes (the table's own, and those of its state tables in schema phasectl)`,
    {
      hint:
        'run phasectl with session_replication_role = origin: remove -c session_replication_role=… from PGOPTIONS ' +
        'or the options of the database URL, or `ALTER ROLE <role> RESET session_replication_role` ' +
        '(and the same for `ALTER DATABASE`); nothing was changed',
    },
  );
}
