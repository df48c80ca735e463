import { identifierName, isTrivia, tokenize, type SqlToken } from './sql-tokens.js';

export { tokenize, type SqlToken } from './sql-tokens.js';

/**
 * Reserved words PostgreSQL always quotes when it prints a column name: an unquoted token
 * with one of these spellings is a keyword (e.g. `DESC` in an index), never our column.
 */
const reservedWords = new Set(
  (
    'all analyse analyze and any array as asc asymmetric authorization between binary both case cast check collate ' +
    'collation column concurrently constraint create cross current_catalog current_date current_role current_schema ' +
    'current_time current_timestamp current_user default deferrable desc distinct do else end except false fetch for ' +
    'foreign freeze from full grant group having ilike in initially inner intersect into is isnull join lateral leading ' +
    'left like limit localtime localtimestamp natural not notnull null offset on only or order outer overlaps placing ' +
    'primary references returning right select session_user similar some symmetric system_user table tablesample then ' +
    'to trailing true union unique user using variadic verbose when where window with'
  ).split(' '),
);

/**
 * Replaces every token that denotes the column `column` with `replacementSql`.
 * Unquoted tokens match case-folded (`Job_Title` denotes `job_title`), quoted ones exactly.
 * Strings, comments and dollar-quoted bodies are left alone, and so are qualified names
 * (`t.job_title`, `public.job_title`) and function calls (`job_title(`).
 *
 * @example replaceColumnReference('CHECK ((length(job_title) < 200))', 'job_title', '"title"')
 *   // 'CHECK ((length("title") < 200))'
 */
export function replaceColumnReference(sql: string, column: string, replacementSql: string): string {
  const tokens = tokenize(sql);
  return tokens
    .map((token, index) => (denotesColumn(tokens, index, column) ? replacementSql : token.text))
    .join('');
}

/** True when `sql` references `column` anywhere replaceColumnReference would replace it. */
export function mentionsColumn(sql: string, column: string): boolean {
  const tokens = tokenize(sql);
  return tokens.some((_, index) => denotesColumn(tokens, index, column));
}

function denotesColumn(tokens: SqlToken[], index: number, column: string): boolean {
  const token = tokens[index] as SqlToken;
  if (identifierName(token) !== column) return false;
  if (token.kind === 'identifier' && reservedWords.has(column)) return false;
  const before = neighbour(tokens, index, -1);
  if (before?.text === '.') return false;
  const after = neighbour(tokens, index, 1);
  if (after?.text === '(' || after?.text === '.') return false;
  return true;
}

function neighbour(tokens: SqlToken[], index: number, step: 1 | -1): SqlToken | undefined {
  for (let i = index + step; i >= 0 && i < tokens.length; i += step) {
    const token = tokens[i] as SqlToken;
    if (!isTrivia(token)) return token;
  }
  return undefined;
}

/**
 * Position just after the first top-level unquoted keyword `keyword` (case-insensitive),
 * or -1. Used to cut `CREATE INDEX name ON …` at `ON` and `FOREIGN KEY (…) REFERENCES …` at `REFERENCES`.
 */
export function findKeyword(sql: string, keyword: string): { start: number; end: number } | undefined {
  const wanted = keyword.toLowerCase();
  let depth = 0;
  for (const token of tokenize(sql)) {
    if (token.text === '(') depth++;
    else if (token.text === ')') depth--;
    else if (depth === 0 && token.kind === 'identifier' && token.text.toLowerCase() === wanted) {
      return { start: token.start, end: token.start + token.text.length };
    }
  }
  return undefined;
}
