import { isTrivia, tokenize } from './tokens.js';

/**
 * Splits a SQL script into its statements on top-level `;`, never inside strings ('…', E'…'),
 * quoted identifiers, dollar quotes or comments. Statements holding only comments are dropped;
 * each statement is returned trimmed, without its `;`.
 *
 * Needed for non-transactional files: a multi-statement simple query runs in an implicit
 * transaction, where CREATE INDEX CONCURRENTLY and COMMIT inside DO blocks fail.
 * (SQL-standard `BEGIN ATOMIC … END` bodies are not supported; phasectl never generates them.)
 */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let current: ReturnType<typeof tokenize> = [];
  const flush = () => {
    if (current.some((token) => !isTrivia(token)))
      statements.push(
        current
          .map((token) => token.text)
          .join('')
          .trim(),
      );
    current = [];
  };
  for (const token of tokenize(sql)) {
    if (token.kind === 'punctuation' && token.text === ';') flush();
    else current.push(token);
  }
  flush();
  return statements;
}
