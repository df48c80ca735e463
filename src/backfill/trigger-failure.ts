import type pg from 'pg';
import { qualify } from '../render/quote.js';

/**
 * The functions an error's context (PostgreSQL's `where` field) names, innermost first: `PL/pgSQL function
 * public.audit() line 3 at SQL statement` gives `public.audit()`, `SQL function "f" statement 1` gives `f`. Pure.
 */
export function contextFunctions(where: string | undefined): string[] {
  if (!where) return [];
  return where.split('\n').flatMap((line) => {
    const plpgsql = /^PL\/pgSQL function (.+?) line \d+/.exec(line.trim());
    if (plpgsql) return [plpgsql[1]!];
    const sql = /^SQL function "(.+?)"/.exec(line.trim());
    return sql ? [sql[1]!] : [];
  });
}

/**
 * The application's trigger on `table` whose function the error's context names, if any: the backfill's UPDATE fires
 * the table's own triggers, and a failure in one of them is no fault of the row's value or of the conversion.
 * phasectl's own sync functions (schema phasectl) are not the application's.
 */
export async function failingTableTrigger(
  session: pg.ClientBase,
  table: { schema: string; table: string },
  where: string | undefined,
): Promise<{ trigger: string; fn: string } | undefined> {
  const names = contextFunctions(where);
  if (names.length === 0) return undefined;
  const { rows } = await session.query<{ trigger: string; fn: string }>(
    `SELECT t.tgname::pg_catalog.text AS trigger, t.tgfoid::pg_catalog.regprocedure::pg_catalog.text AS fn
       FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
      WHERE t.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
        AND NOT t.tgisinternal
        AND p.pronamespace OPERATOR(pg_catalog.<>) pg_catalog.to_regnamespace('phasectl')
        AND (t.tgfoid::pg_catalog.regprocedure::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[])
             OR p.proname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[]))
      ORDER BY 1 LIMIT 1`,
    [qualify(table.schema, table.table), names],
  );
  return rows[0];
}
