import pg from 'pg';

/**
 * Quotes an identifier the way PostgreSQL reads it back exactly: `job title` → `"job title"`,
 * `a"b` → `"a""b"`. Always quotes, so case and reserved words never change meaning.
 */
export function quoteIdent(name: string): string {
  return pg.escapeIdentifier(name);
}

/** Quotes a string literal: `it's` → `'it''s'` (and `E'…'` form when it holds a backslash). */
export function quoteLiteral(text: string): string {
  return pg.escapeLiteral(text);
}

/** `"schema"."name"`, both parts quoted. */
export function qualify(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}
