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
  const tail = truncatedTail(column);
  if (PLAIN_NAME.test(column)) {
    const end = tail === undefined ? '([^[:alnum:]_$]|$)' : tail === '' ? '' : `([^[:alnum:]_$]|$|${tail})`;
    return `${sourceSql} ~* ${quoteLiteral(`(^|[^[:alnum:]_$])${escapeRegex(column)}${end}`).trim()}`;
  }
  const quoted = escapeRegex(quoteIdent(column));
  const open = quoted.slice(0, -1);
  const end = tail === undefined ? '"' : tail === '' ? '' : `("|${tail})`;
  return `${sourceSql} ~ ${quoteLiteral(open + end).trim()}`;
}

/**
 * PostgreSQL cuts an identifier longer than 63 bytes (NAMEDATALEN - 1) to 63, at a character boundary: source code may
 * name a column of 60–63 bytes with a longer identifier (`job_title_…_suffix` is the column `job_title_…`, with a
 * NOTICE). What may follow the name in such an identifier, as a regular expression: '' (anything: a name of 63 bytes),
 * a character too long to fit (60–62 bytes), or undefined (a shorter name is never the cut of a longer one). Pure.
 */
export function truncatedTail(name: string): string | undefined {
  const bytes = new TextEncoder().encode(name).length;
  if (bytes >= 63) return '';
  // UTF-8: a character of 2 bytes from U+0080, 3 from U+0800, 4 from U+10000.
  if (bytes === 62) return '[^\\x01-\\x7f]';
  if (bytes === 61) return '[^\\x01-\\u07ff]';
  if (bytes === 60) return '[^\\x01-\\uffff]';
  return undefined;
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
