import { InputError } from '../errors.js';
import { expressionNamesColumn, replaceColumnInExpression, SqlParseError } from '../sql/parser.js';

/**
 * Column references in a user's SQL expression (`up`, `down`), found by PostgreSQL's own parser: a column
 * named `text` or `date` is never confused with the type, a string, a function or another table's column.
 */

/**
 * Replaces every bare reference to the column `column` in the expression `sql` with `replacementSql`.
 *
 * @example replaceColumnReference('round(amount * 100)::bigint', 'amount', 'NEW."amount"')
 *   // 'round(NEW."amount" * 100)::bigint'
 */
export function replaceColumnReference(sql: string, column: string, replacementSql: string): string {
  return readable(sql, () => replaceColumnInExpression(sql, column, replacementSql));
}

/** True when the expression `sql` references `column` where replaceColumnReference would replace it. */
export function mentionsColumn(sql: string, column: string): boolean {
  return readable(sql, () => expressionNamesColumn(sql, column));
}

function readable<T>(sql: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof SqlParseError)) throw error;
    throw new InputError(`the expression ${JSON.stringify(sql)} is not one valid SQL expression: ${error.message}`, {
      hint: 'fix the up/down expression (phases.yaml, or plan again with --up/--down), then run `phasectl generate`',
    });
  }
}
