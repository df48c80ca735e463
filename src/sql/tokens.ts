/**
 * A small SQL lexer: enough to find identifiers, literals, comments and statement ends
 * without being fooled by quotes. Not a parser: it never needs to understand grammar.
 */

export type SqlTokenKind =
  | 'whitespace'
  | 'comment'
  | 'string'
  | 'dollar-string'
  | 'quoted-identifier'
  | 'identifier'
  | 'parameter'
  | 'number'
  | 'punctuation';

export interface SqlToken {
  kind: SqlTokenKind;
  /** The exact source text of the token. */
  text: string;
  start: number;
}

const identStart = /[A-Za-z_\u0080-\uffff]/;
const identPart = /[A-Za-z0-9_$\u0080-\uffff]/;

/**
 * Splits SQL text into tokens; concatenating every token's text gives the input back.
 * Handles '…' strings ('' escapes), E'…' strings (backslash escapes), "…" identifiers,
 * $tag$…$tag$ dollar quotes, -- line comments and nested /* *\/ comments.
 * An unterminated string, identifier or comment runs to the end of the text.
 */
export function tokenize(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  let i = 0;
  const push = (kind: SqlTokenKind, end: number) => {
    tokens.push({ kind, text: sql.slice(i, end), start: i });
    i = end;
  };
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      let end = i + 1;
      while (end < sql.length && /\s/.test(sql[end] as string)) end++;
      push('whitespace', end);
    } else if (c === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      push('comment', newline === -1 ? sql.length : newline);
    } else if (c === '/' && next === '*') {
      push('comment', blockCommentEnd(sql, i));
    } else if ((c === 'E' || c === 'e') && next === "'") {
      push('string', stringEnd(sql, i + 1, true));
    } else if (c === "'") {
      push('string', stringEnd(sql, i, false));
    } else if (c === '"') {
      push('quoted-identifier', quotedIdentifierEnd(sql, i));
    } else if (c === '$') {
      const param = /^\$[0-9]+/.exec(sql.slice(i));
      const tag = /^\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/.exec(sql.slice(i));
      if (param) push('parameter', i + param[0].length);
      else if (tag) {
        const close = sql.indexOf(tag[0], i + tag[0].length);
        push('dollar-string', close === -1 ? sql.length : close + tag[0].length);
      } else push('punctuation', i + 1);
    } else if (identStart.test(c)) {
      let end = i + 1;
      while (end < sql.length && identPart.test(sql[end] as string)) end++;
      push('identifier', end);
    } else if (/[0-9]/.test(c) || (c === '.' && next !== undefined && /[0-9]/.test(next))) {
      const match = /^(?:[0-9]*\.?[0-9]+|[0-9]+\.)(?:[eE][+-]?[0-9]+)?/.exec(sql.slice(i));
      push('number', i + (match ? match[0].length : 1));
    } else {
      push('punctuation', i + 1);
    }
  }
  return tokens;
}

function blockCommentEnd(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql.startsWith('/*', i)) {
      depth++;
      i += 2;
    } else if (sql.startsWith('*/', i)) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

/** `quote` is the index of the opening `'`; backslash escapes apply in E'…' strings. */
function stringEnd(sql: string, quote: number, backslashEscapes: boolean): number {
  let i = quote + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (backslashEscapes && c === '\\') i += 2;
    else if (c === "'") {
      if (sql[i + 1] === "'") i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

function quotedIdentifierEnd(sql: string, quote: number): number {
  let i = quote + 1;
  while (i < sql.length) {
    if (sql[i] === '"') {
      if (sql[i + 1] === '"') i += 2;
      else return i + 1;
    } else i++;
  }
  return sql.length;
}

/** True for tokens that carry no meaning (whitespace, comments). */
export function isTrivia(token: SqlToken): boolean {
  return token.kind === 'whitespace' || token.kind === 'comment';
}

/** The name an identifier token denotes: unquoted names fold ASCII letters to lower case, as PostgreSQL does. */
export function identifierName(token: SqlToken): string | undefined {
  if (token.kind === 'identifier') return token.text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
  if (token.kind === 'quoted-identifier') return token.text.slice(1, -1).replace(/""/g, '"');
  return undefined;
}
