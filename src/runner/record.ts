import type pg from 'pg';
import { requireTrustedStateSchema } from '../session/state-schema.js';
import type { MigrationFile } from './migration-files.js';

/**
 * phasectl's tables (src/session/state-schema.ts; backfill_ranges, guard_refusals and audit_figures are created when
 * first needed, so each is locked only once it exists): the files and the runner write them.
 */
const STATE_TABLES = [
  'migrations',
  'history',
  'changes',
  'backfills',
  'verifications',
  'backfill_ranges',
  'guard_refusals',
  'audit_figures',
];

/**
 * Makes the state-schema check hold until the current transaction ends: takes ROW EXCLUSIVE on phasectl's tables
 * (what writing them takes anyway; reads and writes of other sessions go on), so that CREATE TRIGGER, CREATE RULE,
 * CREATE POLICY, ENABLE ROW LEVEL SECURITY or ALTER ... OWNER on them waits for this transaction, then checks the
 * schema (requireTrustedStateSchema). Without the lock, a trigger another role plants between the check and the
 * write would run with our rights. Call inside a transaction, before its first read or write of the state: before a
 * file's body (generated files write phasectl.changes and read phasectl.verifications) and before a record.
 */
export async function lockTrustedState(session: pg.ClientBase): Promise<void> {
  const { rows } = await session.query<{ name: string }>(
    `SELECT pg_catalog.to_regclass('phasectl.' OPERATOR(pg_catalog.||) t)::pg_catalog.text AS name
       FROM pg_catalog.unnest($1::pg_catalog.text[]) AS t
      WHERE pg_catalog.to_regclass('phasectl.' OPERATOR(pg_catalog.||) t) IS NOT NULL`,
    [STATE_TABLES],
  );
  if (rows.length > 0)
    await session.query(`LOCK TABLE ${rows.map((row) => row.name).join(', ')} IN ROW EXCLUSIVE MODE`);
  await requireTrustedStateSchema(session);
}

/**
 * Runs `record` in a short transaction of its own under lockTrustedState (5s lock_timeout): the record of a file that
 * ran outside a transaction (a backfill, a verification, CREATE INDEX CONCURRENTLY), maybe hours after the last check.
 */
export async function recordLocked(session: pg.ClientBase, record: () => Promise<void>): Promise<void> {
  await session.query('BEGIN');
  try {
    await session.query(`SET LOCAL lock_timeout = '5s'`);
    await lockTrustedState(session);
    await record();
    await session.query('COMMIT');
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Marks an up file applied (phasectl.migrations) and appends it to phasectl.history. */
export async function recordApplied(session: pg.ClientBase, file: MigrationFile, durationMs: number): Promise<void> {
  const h = file.header;
  await session.query(
    `WITH applied AS (
       INSERT INTO phasectl.migrations (name, checksum, change_id, phase, direction, release, duration_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7))
     INSERT INTO phasectl.history (name, checksum, change_id, phase, direction, release, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [file.name, file.checksum, h?.changeId ?? null, h?.phase ?? null, file.direction, h?.release ?? null, durationMs],
  );
}

/** Appends a down file's run to phasectl.history (down files are never in phasectl.migrations). */
export async function recordDownRun(session: pg.ClientBase, file: MigrationFile, durationMs: number): Promise<void> {
  const h = file.header;
  await session.query(
    `INSERT INTO phasectl.history (name, checksum, change_id, phase, direction, release, duration_ms)
     VALUES ($1, $2, $3, $4, 'down', $5, $6)`,
    [file.name, file.checksum, h?.changeId ?? null, h?.phase ?? null, h?.release ?? null, durationMs],
  );
}

/** Rows of phasectl.migrations, or none when the state schema does not exist yet (dry runs create nothing). */
export async function readApplied(session: pg.ClientBase): Promise<import('./migration-plan.js').AppliedMigration[]> {
  const exists = await session.query<{ ok: boolean }>(
    `SELECT pg_catalog.to_regclass('phasectl.migrations') IS NOT NULL AS ok`,
  );
  if (!exists.rows[0]?.ok) return [];
  // Reading a table can run another role's code too (a rule, a policy): check the schema first.
  await requireTrustedStateSchema(session);
  const { rows } = await session.query<{
    name: string;
    checksum: string;
    change_id: string | null;
    phase: number | null;
    direction: string | null;
    release: string | null;
    applied_at: Date;
  }>(`SELECT name, checksum, change_id, phase, direction, release, applied_at FROM phasectl.migrations ORDER BY name`);
  return rows.map((row) => ({
    name: row.name,
    checksum: row.checksum,
    changeId: row.change_id,
    phase: row.phase,
    direction: row.direction,
    release: row.release,
    appliedAt: row.applied_at,
  }));
}

/** The phase phasectl.changes records for the change: 0 when none (or no state schema yet). */
export async function appliedPhase(session: pg.ClientBase, changeId: string): Promise<number> {
  const exists = await session.query<{ ok: boolean }>(
    `SELECT pg_catalog.to_regclass('phasectl.changes') IS NOT NULL AS ok`,
  );
  if (!exists.rows[0]?.ok) return 0;
  await requireTrustedStateSchema(session);
  const { rows } = await session.query<{ phase: number }>('SELECT phase FROM phasectl.changes WHERE id = $1', [
    changeId,
  ]);
  return Number(rows[0]?.phase ?? 0);
}
