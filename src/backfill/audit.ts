import type pg from 'pg';
import { requireTrustedStateSchema } from '../session/state-schema.js';

/**
 * The data audit: per change and phase, the row count, non-NULL count and an order-independent checksum of the
 * old column (as `up` converts it) and of the new column, summed over the batches of a verification walk (each batch
 * its own short read-only transaction, never one long scan). Kept in `phasectl.audit_figures`, created the first
 * time figures are recorded (like phasectl.guard_refusals): the rest of the state schema does not depend on it.
 */
export const auditTableSql = `CREATE TABLE IF NOT EXISTS phasectl.audit_figures (
  change_id text NOT NULL, phase int NOT NULL, old_rows bigint NOT NULL, old_non_null bigint NOT NULL,
  old_checksum numeric NOT NULL, new_rows bigint NOT NULL, new_non_null bigint NOT NULL, new_checksum numeric NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(), checksum_kind text NOT NULL DEFAULT 'md5-60', PRIMARY KEY (change_id, phase))`;

/** The column added after the first release of the table (run only when it is missing: ALTER needs the owner). */
const checksumKindColumnSql = `ALTER TABLE phasectl.audit_figures ADD COLUMN IF NOT EXISTS checksum_kind text NOT NULL DEFAULT 'md5-60'`;

/**
 * How the checksums are computed (src/operations/batch-walk.ts auditSql). Rows recorded by an earlier phasectl
 * carry 'md5-60' (the column's default): their checksums are compared only with checksums of the same kind.
 */
export const AUDIT_CHECKSUM_KIND = 'hashtextextended-c';

/** The kind of checksum a plan's auditSql computes: files generated before the change carry the md5 prefix. Pure. */
export function checksumKindOf(auditSql: string): string {
  return auditSql.includes('pg_catalog.hashtextextended(') ? AUDIT_CHECKSUM_KIND : 'md5-60';
}

/** Added later (older tables read it as NULL): who took the figures, NULL for `migrate`'s own walks. */
const takenByColumnSql = 'ALTER TABLE phasectl.audit_figures ADD COLUMN IF NOT EXISTS taken_by text';

/** `taken_by` of the figures a `phasectl verify` run by hand records. */
export const MANUAL_VERIFY = 'phasectl verify';

/** Rows, non-NULL values and checksum of one column over the rows walked. Counts as decimal strings (exact). */
export interface ColumnFigures {
  rows: string;
  nonNull: string;
  checksum: string;
}

/** The figures one verification walk recorded for a change at a phase. */
export interface AuditFigures {
  phase: number;
  /** AUDIT_CHECKSUM_KIND, or 'md5-60' for figures an earlier phasectl recorded. */
  checksumKind: string;
  /** The old column, converted with `up` (a rename's type change), so it compares with the new column. */
  old: ColumnFigures;
  new: ColumnFigures;
  recordedAt: Date;
  /** Who took them when not `migrate`'s own walk (`phasectl verify` run by hand). */
  takenBy?: string;
  /** Set by `status` when a rollback of this phase (or an earlier one) ran after they were taken: not the data now. */
  rolledBack?: { phase: number; at: Date };
}

/** A running sum of batches' figures (BigInt: a checksum sum outgrows a double). */
export interface AuditTally {
  rows: bigint;
  oldNonNull: bigint;
  oldChecksum: bigint;
  newNonNull: bigint;
  newChecksum: bigint;
}

export function emptyTally(): AuditTally {
  return { rows: 0n, oldNonNull: 0n, oldChecksum: 0n, newNonNull: 0n, newChecksum: 0n };
}

/** One row of a plan's auditSql. */
export interface AuditBatchRow {
  differing: string;
  rows: string;
  source_non_null: string;
  source_checksum: string | null;
  target_non_null: string;
  target_checksum: string | null;
}

/** Adds one batch's row to the tally. Pure. */
export function addBatch(tally: AuditTally, row: AuditBatchRow): void {
  tally.rows += BigInt(row.rows);
  tally.oldNonNull += BigInt(row.source_non_null);
  tally.oldChecksum += BigInt(row.source_checksum ?? '0');
  tally.newNonNull += BigInt(row.target_non_null);
  tally.newChecksum += BigInt(row.target_checksum ?? '0');
}

/**
 * Settings that fix every value's text image (what the checksum hashes) whatever the session's defaults, so
 * figures taken by different runs compare. Set LOCAL inside each counting transaction.
 */
export const AUDIT_SETTINGS_SQL =
  "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; " +
  "SET LOCAL extra_float_digits = 1; SET LOCAL bytea_output = 'hex'";

/**
 * Stores a walk's figures for the change and phase (a later walk of the same phase replaces them), in one short
 * transaction under a 5s lock_timeout (the table's creation takes a lock on the schema).
 */
export async function recordAuditFigures(
  session: pg.ClientBase,
  changeId: string,
  phase: number,
  tally: AuditTally,
  checksumKind: string,
  takenBy?: string,
): Promise<void> {
  await session.query('BEGIN');
  try {
    await session.query(`SET LOCAL lock_timeout = '5s'`);
    await requireTrustedStateSchema(session);
    await session.query(auditTableSql);
    const columns = await session.query<{ attname: string }>(
      `SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = 'phasectl.audit_figures'::pg_catalog.regclass
         AND attname = ANY ('{checksum_kind,taken_by}'::pg_catalog.name[]) AND NOT attisdropped`,
    );
    const has = (name: string) => columns.rows.some((row) => row.attname === name);
    if (!has('checksum_kind')) await session.query(checksumKindColumnSql);
    if (!has('taken_by')) await session.query(takenByColumnSql);
    await insertFigures(session, changeId, phase, tally, checksumKind, takenBy);
    await session.query('COMMIT');
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

async function insertFigures(
  session: pg.ClientBase,
  changeId: string,
  phase: number,
  tally: AuditTally,
  checksumKind: string,
  takenBy: string | undefined,
): Promise<void> {
  await session.query(
    `INSERT INTO phasectl.audit_figures (change_id, phase, old_rows, old_non_null, old_checksum, new_rows, new_non_null, new_checksum, checksum_kind, taken_by)
     VALUES ($1, $2, $3, $4, $5, $3, $6, $7, $8, $9)
     ON CONFLICT (change_id, phase) DO UPDATE SET old_rows = EXCLUDED.old_rows, old_non_null = EXCLUDED.old_non_null,
       old_checksum = EXCLUDED.old_checksum, new_rows = EXCLUDED.new_rows, new_non_null = EXCLUDED.new_non_null,
       new_checksum = EXCLUDED.new_checksum, checksum_kind = EXCLUDED.checksum_kind, taken_by = EXCLUDED.taken_by,
       recorded_at = now()`,
    [
      changeId,
      phase,
      tally.rows.toString(),
      tally.oldNonNull.toString(),
      tally.oldChecksum.toString(),
      tally.newNonNull.toString(),
      tally.newChecksum.toString(),
      checksumKind,
      takenBy ?? null,
    ],
  );
}

/** The figures recorded for a change, by phase; [] when none (or no audit table yet). */
export async function readAuditFigures(session: pg.ClientBase, changeId: string): Promise<AuditFigures[]> {
  const exists = await session.query<{ present: boolean }>(
    `SELECT pg_catalog.to_regclass('phasectl.audit_figures') IS NOT NULL AS present`,
  );
  if (!exists.rows[0]?.present) return [];
  const { rows } = await session.query<{
    phase: string;
    old_rows: string;
    old_non_null: string;
    old_checksum: string;
    new_rows: string;
    new_non_null: string;
    new_checksum: string;
    checksum_kind: string | null;
    recorded_at: Date;
    taken_by: string | null;
  }>(
    // to_jsonb(f): a table created by an earlier phasectl and not written since has no checksum_kind or taken_by yet.
    `SELECT phase, old_rows, old_non_null, old_checksum, new_rows, new_non_null, new_checksum,
            pg_catalog.to_jsonb(f) OPERATOR(pg_catalog.->>) 'checksum_kind' AS checksum_kind, recorded_at,
            pg_catalog.to_jsonb(f) OPERATOR(pg_catalog.->>) 'taken_by' AS taken_by
       FROM phasectl.audit_figures AS f WHERE change_id = $1 ORDER BY phase`,
    [changeId],
  );
  return rows.map((row) => ({
    phase: Number(row.phase),
    checksumKind: row.checksum_kind ?? 'md5-60',
    old: { rows: row.old_rows, nonNull: row.old_non_null, checksum: row.old_checksum },
    new: { rows: row.new_rows, nonNull: row.new_non_null, checksum: row.new_checksum },
    recordedAt: row.recorded_at,
    ...(row.taken_by === null ? {} : { takenBy: row.taken_by }),
  }));
}

/** What the figures can and cannot prove: printed by `status` beside them. */
export const AUDIT_CAVEAT =
  'The figures are taken by batched passes while the application may write: equal figures within a phase show ' +
  'that every value of the old column reached the new one; figures of different phases differ legitimately when ' +
  'rows were written, changed or deleted between the passes, so only a difference within one pass, or across ' +
  'phases while nothing wrote, points at lost or diverging values.';

/**
 * The mismatches among the figures, as sentences: within one pass (old column against new column) and between the
 * new column after phase 1 and after phase 3. Pure.
 */
export function auditMismatches(changeId: string, figures: AuditFigures[]): string[] {
  const found: string[] = [];
  const describe = (what: ColumnFigures) => `${what.rows} rows, ${what.nonNull} non-NULL, checksum ${what.checksum}`;
  const differ = (a: ColumnFigures, b: ColumnFigures) =>
    a.rows !== b.rows || a.nonNull !== b.nonNull || a.checksum !== b.checksum;
  // Figures of a phase rolled back since describe columns a down file has rewritten: nothing to compare.
  const current = figures.filter((figure) => !figure.rolledBack);
  for (const figure of current) {
    if (differ(figure.old, figure.new))
      found.push(
        `phase ${figure.phase}: the old column (${describe(figure.old)}) and the new column (${describe(figure.new)}) ` +
          'differ in one pass; values did not come through (a write that bypassed the trigger?): ' +
          `run \`phasectl backfill ${changeId} --repair\`, then \`phasectl verify ${changeId}\``,
      );
  }
  // Phase 1's copy verified as it was made has no walk, so no figures (src/backfill/copy-check.ts): phase 2's are then
  // the first of the new column.
  const first = current.find((figure) => figure.phase === 1) ?? current.find((figure) => figure.phase === 2);
  const last = current.find((figure) => figure.phase === 3);
  // Checksums of different kinds (one recorded by an earlier phasectl) never match: compare the counts only.
  const comparable = (a: ColumnFigures, b: ColumnFigures) =>
    first!.checksumKind === last!.checksumKind ? differ(a, b) : a.rows !== b.rows || a.nonNull !== b.nonNull;
  if (first && last && comparable(first.new, last.new))
    found.push(
      `the new column after phase ${first.phase} (${describe(first.new)}) and after phase 3 (${describe(last.new)}) differ: ` +
        'expected if the application wrote in between, a loss if nothing did',
    );
  return found;
}
