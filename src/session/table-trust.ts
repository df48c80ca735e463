import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import { UNTRUSTED_CODE_SQL, untrustedCodeError, type TrustProblem } from '../sql/untrusted-code.js';

export { UNTRUSTED_CODE_SQL, untrustedCodeError, type TrustProblem };

/** What a change writes on a table besides its rows: the columns it assigns, the types it converts values to. */
export interface WrittenValues {
  columns?: string[];
  types?: string[];
}

/**
 * The problems UNTRUSTED_CODE_SQL finds on `table` (as text, `"schema"."table"`), writing `written`. Run with JIT off:
 * on a large catalog the planner's estimate of its recursive call chain passes jit_above_cost, and compiling its
 * ~380 expressions took 300-700 ms per run where the query itself takes 2-10 ms (12,400 relations, PostgreSQL 15).
 */
export async function untrustedCode(
  session: pg.ClientBase,
  table: string,
  written: WrittenValues = {},
): Promise<TrustProblem[]> {
  const { rows } = await session.query<{ jit: string }>(
    `SELECT pg_catalog.current_setting('jit') AS jit, pg_catalog.set_config('jit', 'off', false)`,
  );
  try {
    return (await session.query<TrustProblem>(UNTRUSTED_CODE_SQL, [table, written.columns ?? [], written.types ?? []]))
      .rows;
  } finally {
    // In a failed transaction this fails too, and the rollback undoes the set_config above anyway.
    await session.query(`SELECT pg_catalog.set_config('jit', $1, false)`, [rows[0]!.jit]).catch(() => undefined);
  }
}

/**
 * Refuses (exit 3) before the backfill or a verification touches `tables` (as text, `"schema"."table"`) when one
 * would run another role's code as the current role; `written` gives, per table, what the change writes there (the
 * domains of those columns and types run). Run at the start of every pass, so what changed since `plan`
 * (a trigger planted, a partition attached or handed over) is checked before a row is written.
 */
export async function requireTrustedTables(
  session: pg.ClientBase,
  tables: string[],
  written: Record<string, WrittenValues> = {},
): Promise<void> {
  for (const table of tables) {
    const problems = await untrustedCode(session, table, written[table]);
    if (problems.length === 0) continue;
    const { message, hint } = untrustedCodeError(table, problems);
    throw new RuntimeFailure(message, { hint });
  }
}
