import { quoteIdent, quoteLiteral } from '../render/quote.js';
import { SYNC_TRIGGER_PREFIX } from './naming.js';

/**
 * A name source code may write unquoted: no ASCII capitals (PostgreSQL folds those), only identifier
 * characters (the scanner takes any non-ASCII character as a letter).
 */
const PLAIN_NAME = /^[a-z_\u0080-\u{10FFFF}][a-z0-9_$\u0080-\u{10FFFF}]*$/u;

/**
 * A SQL condition true when the function source `sourceSql` (e.g. `p.prosrc`) names `column`: a plain name
 * as a whole word in any case (`NEW.job_title`, `"job_title"`, `Job_Title`), any other name in its quoted
 * form (`"Job Title"`). A heuristic for a guard, not a parser: a mention in a comment or a string counts too,
 * which errs on the side of stopping. Pure.
 */
export function columnMentionCondition(sourceSql: string, column: string): string {
  if (PLAIN_NAME.test(column)) {
    return `${sourceSql} ~* ${quoteLiteral(`(^|[^[:alnum:]_$])${escapeRegex(column)}([^[:alnum:]_$]|$)`).trim()}`;
  }
  return `${sourceSql} ~ ${quoteLiteral(escapeRegex(quoteIdent(column))).trim()}`;
}

/** Escapes the characters that are special in a PostgreSQL (ARE) regular expression. Pure. */
function escapeRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, (char) => `\\${char}`);
}

/** Context of the shared `guard-trigger-sources` partial: phase 3 stops while a trigger function names `column`. Pure. */
export function triggerSourceGuard(
  changeId: string,
  table: { schema: string; table: string },
  column: string,
  replacement: string,
) {
  return {
    guardSchema: table.schema,
    guardTable: table.table,
    guardColumn: column,
    guardCondition: columnMentionCondition('p.prosrc', column),
    syncTriggerPrefix: SYNC_TRIGGER_PREFIX,
    guardHint:
      `change ${changeId}: rewrite those functions to use ${replacement} instead of ${column} (CREATE OR REPLACE FUNCTION …), then rerun \`phasectl migrate\`; ` +
      `one that names ${column} only as another table's column (an audit table's) can say so in its comment: COMMENT ON FUNCTION … IS 'phasectl: not ${changeId}'`,
  };
}
