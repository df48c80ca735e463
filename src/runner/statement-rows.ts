import type pg from 'pg';
import { readProvenance } from '../migration-file/provenance.js';
import { opensWithStatementRowsMarker, STATEMENT_ROWS_COLUMN } from '../operations/partitioned-indexes.js';
import type { MigrationFile } from './migration-files.js';

/**
 * A generated file sometimes knows its statements only at run time (one per partition of a partitioned table,
 * templates/shared/create-partitioned-index.hbs): it holds a query whose single column is `phasectl_statement`, and
 * each row is a statement to run next, in order (psql's `\gexec`). Returns those statements, or none.
 *
 * Rows are statements only for phasectl's own query, never for whatever a query happens to return: a column of
 * that name can come from a view, a function or a table another role controls, and its rows would run as the
 * migrator. So the statement must be marked (`isStatementRowsQuery`) and the result must have that single column.
 * Pure.
 */
export function statementRows(
  file: Pick<MigrationFile, 'header' | 'content'>,
  statement: string,
  result: pg.QueryResult | undefined,
): string[] {
  if (!result || result.fields?.length !== 1 || result.fields[0]!.name !== STATEMENT_ROWS_COLUMN) return [];
  if (!isStatementRowsQuery(file, statement)) return [];
  return result.rows.map((row: Record<string, unknown>) => String(row[STATEMENT_ROWS_COLUMN]));
}

/**
 * Whether `statement` of `file` is a query whose rows phasectl runs: the file is a generated `transaction=false` step
 * exactly as it was generated (its header's digest covers the whole text, the marker included), and the comment lines
 * that open the statement end with the marker line, which the template writes right before the query.
 */
export function isStatementRowsQuery(file: Pick<MigrationFile, 'header' | 'content'>, statement: string): boolean {
  if (!file.header || file.header.transaction) return false;
  if (readProvenance(file.content)?.intact !== true) return false;
  return opensWithStatementRowsMarker(statement);
}
