import type pg from 'pg';
import { requireTrustedStateSchema } from '../session/state-schema.js';
import type { MigrationFile } from './migration-files.js';

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
