import type pg from 'pg';
import { STATEMENT_ROWS_COLUMN } from '../operations/partitioned-indexes.js';

/**
 * A generated file sometimes knows its statements only at run time (one per partition of a partitioned table,
 * templates/shared/create-partitioned-index.hbs): it holds a query whose single column is `phasectl_statement`, and
 * each row is a statement to run next, in order (psql's `\gexec`). Returns those statements, or none when the result
 * is not such a query. Pure.
 */
export function statementRows(result: pg.QueryResult | undefined): string[] {
  if (!result || result.fields?.length !== 1 || result.fields[0]!.name !== STATEMENT_ROWS_COLUMN) return [];
  return result.rows.map((row: Record<string, unknown>) => String(row[STATEMENT_ROWS_COLUMN]));
}
