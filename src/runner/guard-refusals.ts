import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import type { MigrationFile } from './migration-files.js';
import { pgError, type PgErrorFields } from '../session/pg-error.js';
import { requireTrustedStateSchema } from '../session/state-schema.js';

/**
 * The last guard refusal of each change, kept in `phasectl.guard_refusals` so `status` can say why the last
 * `migrate` stopped (a guard refused phase 2 because the backfill had not finished, …). A separate, idempotent
 * statement, created the first time a guard refuses: the rest of the state schema does not depend on it.
 */
export const guardRefusalsTableSql = `CREATE TABLE IF NOT EXISTS phasectl.guard_refusals (
  change_id text PRIMARY KEY, phase int NOT NULL, guard text NOT NULL, file text NOT NULL,
  sqlstate text, message text NOT NULL, refused_at timestamptz NOT NULL DEFAULT now())`;

/** One refusal, as recorded. */
export interface GuardRefusal {
  /** Which guard, e.g. `backfill-finished` (see guardName). */
  guard: string;
  phase: number;
  file: string;
  sqlstate: string | null;
  message: string;
  refusedAt: Date;
}

/** SQLSTATE of RAISE EXCEPTION without an ERRCODE: what phasectl's guards raise. */
const RAISE_EXCEPTION = 'P0001';

/** The guards of the generated files, recognised by their messages (templates/*), most specific first. */
const KNOWN_GUARDS: [RegExp, string][] = [
  [/its backfill has not finished/, 'backfill-finished'],
  [/no verification since .* found 0 differing rows/, 'verified'],
  [/phase 2 is not applied/, 'phase-2-applied'],
  [/into another table by position$/, 'whole-row'],
  [/maps the columns of .* by position$/, 'column-order'],
  [/still names it/, 'trigger-sources'],
  [/names it in its definition/, 'trigger-definitions'],
  [/it is used by .* \(DROP COLUMN would (fail on|drop) it\)/, 'column-dependents'],
  [/have a value in .* but no row in/, 'move-target-rows'],
  [/is INVALID/, 'invalid-index'],
  [/is taken by another relation/, 'name-taken'],
  [/already exists with another definition/, 'constraint-definition'],
  [/is not an index on/, 'not-our-index'],
  [/^verification of .* where the two columns differ/, 'rows-differ'],
  [/runs in the sync trigger with the rights of each role that writes/, 'conversion-execute'],
  [/cannot see every partner row/, 'row-security'],
];

/** The guard a message comes from; a guard not listed here is named after the step of its file. Pure. */
export function guardName(message: string, stepName: string): string {
  return KNOWN_GUARDS.find(([pattern]) => pattern.test(message))?.[1] ?? `${stepName} step`;
}

/**
 * The runner's own guard: a verify step (the first step of phases 2 and 3) that found rows where the columns
 * differ stops the run before the phase (src/runner/migrate.ts). Recognised by its message. Pure.
 */
export function verificationRefusal(error: unknown): { code?: string; message: string } | undefined {
  const message = error instanceof Error ? error.message : '';
  return /^verification of \S+ found \d+ row\(s\) where the two columns differ/.test(message)
    ? { message: message.replace(/; stopped before .*$/s, '') }
    : undefined;
}

/**
 * The runner's refusal of a function that maps a table's columns by position (src/runner/positional-functions.ts):
 * the same message as the guard of the file it stopped, recorded under the same guard name. Pure.
 */
export function positionalRefusal(error: unknown): { code?: string; message: string } | undefined {
  const message = error instanceof RuntimeFailure ? error.message : '';
  return /^change \S+ cannot (add|drop) .* by position$/s.test(message) ? { message } : undefined;
}

/** The PostgreSQL error of a guard refusal inside `error` (a RuntimeFailure wraps it as its cause), if it is one. */
export function guardError(error: unknown): PgErrorFields | undefined {
  for (
    let current: unknown = error, depth = 0;
    current && depth < 4;
    current = (current as { cause?: unknown }).cause, depth++
  ) {
    const fields = pgError(current);
    if (fields?.code === RAISE_EXCEPTION && fields.message.startsWith('phasectl: ')) return fields;
  }
  return undefined;
}

/**
 * Records `error` as the last guard refusal of the file's change when a guard of a generated file raised it.
 * Runs in its own short transaction after the file's was rolled back. Never throws: a failure to record must
 * not hide the refusal itself.
 */
export async function recordGuardRefusal(session: pg.ClientBase, file: MigrationFile, error: unknown): Promise<void> {
  const header = file.header;
  const fields = guardError(error) ?? verificationRefusal(error) ?? positionalRefusal(error);
  if (!header || !fields) return;
  try {
    await session.query('BEGIN');
    await session.query(`SET LOCAL lock_timeout = '5s'`);
    await requireTrustedStateSchema(session);
    await session.query(guardRefusalsTableSql);
    await session.query(
      `INSERT INTO phasectl.guard_refusals AS r (change_id, phase, guard, file, sqlstate, message, refused_at)
       VALUES ($1, $2, $3, $4, $5, $6, pg_catalog.clock_timestamp())
       ON CONFLICT (change_id) DO UPDATE SET phase = EXCLUDED.phase, guard = EXCLUDED.guard, file = EXCLUDED.file,
         sqlstate = EXCLUDED.sqlstate, message = EXCLUDED.message, refused_at = EXCLUDED.refused_at`,
      [
        header.changeId,
        header.phase,
        guardName(fields.message, header.name),
        file.name,
        fields.code ?? null,
        fields.message.replace(/^phasectl: /, ''),
      ],
    );
    await session.query('COMMIT');
  } catch {
    await session.query('ROLLBACK').catch(() => undefined);
  }
}

/** The last guard refusal of a change, or null (none, or no such table yet). The schema must be trusted already. */
export async function readGuardRefusal(session: pg.ClientBase, changeId: string): Promise<GuardRefusal | null> {
  const exists = await session.query<{ ok: boolean }>(
    `SELECT pg_catalog.to_regclass('phasectl.guard_refusals') IS NOT NULL AS ok`,
  );
  if (!exists.rows[0]?.ok) return null;
  const { rows } = await session.query<{
    guard: string;
    phase: number;
    file: string;
    sqlstate: string | null;
    message: string;
    refused_at: Date;
  }>('SELECT guard, phase, file, sqlstate, message, refused_at FROM phasectl.guard_refusals WHERE change_id = $1', [
    changeId,
  ]);
  const row = rows[0];
  return row
    ? {
        guard: row.guard,
        phase: row.phase,
        file: row.file,
        sqlstate: row.sqlstate,
        message: row.message,
        refusedAt: row.refused_at,
      }
    : null;
}
