/**
 * Another session's query with its constants replaced by `$1`, `$2` … (as pg_stat_statements shows them) and
 * comments removed: `ALTER ROLE app PASSWORD 'secret'` → `ALTER ROLE app PASSWORD $1`. Used only when
 * `--show-blocker-queries` asks for the blocking session's query: the literals may be secrets. Masks string
 * constants (with E/B/X/N/U& prefixes), dollar-quoted strings, numbers; an unterminated constant (a truncated
 * query) is masked to the end. Pure.
 */
export function maskLiterals(query: string): string {
  let out = '';
  // Numbered after the query's own parameters, so a mask never reads as one of them.
  let n = Math.max(0, ...[...query.matchAll(/\$(\d+)/g)].map((match) => Number(match[1])));
  let i = 0;
  const mask = () => `$${++n}`;
  const identifierChar = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_$]/u.test(c);
  while (i < query.length) {
    const c = query[i]!;
    const rest = query.slice(i);
    if (rest.startsWith('--')) {
      const end = query.indexOf('\n', i);
      i = end === -1 ? query.length : end;
      continue;
    }
    if (rest.startsWith('/*')) {
      // Comments nest in PostgreSQL.
      let depth = 0;
      do {
        if (query.startsWith('/*', i)) {
          depth += 1;
          i += 2;
        } else if (query.startsWith('*/', i)) {
          depth -= 1;
          i += 2;
        } else i += 1;
      } while (depth > 0 && i < query.length);
      out += ' ';
      continue;
    }
    if (c === '"') {
      const end = closingQuote(query, i + 1, '"', false);
      out += query.slice(i, end);
      i = end;
      continue;
    }
    const prefixed = /^(?:[eEbBxXnN]|[uU]&)'/.exec(rest);
    if ((c === "'" || prefixed) && !identifierChar(query[i - 1])) {
      const start = i + (prefixed ? prefixed[0].length : 1);
      i = closingQuote(query, start, "'", /^[eE]/.test(rest));
      out += mask();
      continue;
    }
    const dollar = /^\$([\p{L}_][\p{L}\p{N}_]*)?\$/u.exec(rest);
    if (dollar && !identifierChar(query[i - 1])) {
      const end = query.indexOf(dollar[0], i + dollar[0].length);
      i = end === -1 ? query.length : end + dollar[0].length;
      out += mask();
      continue;
    }
    const parameter = /^\$\d+/.exec(rest);
    if (parameter) {
      out += parameter[0];
      i += parameter[0].length;
      continue;
    }
    const number = /^0[xXoObB][\da-fA-F_]+|^(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?/.exec(rest);
    if (number && !identifierChar(query[i - 1])) {
      out += mask();
      i += number[0].length;
      continue;
    }
    out += c;
    i += 1;
  }
  return out.replace(/\s+/g, ' ').trim();
}

/** Index just past the quote closing a quoted text that starts at `start`; doubled quotes (and backslash escapes) stay inside. */
function closingQuote(text: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start;
  while (i < text.length) {
    if (backslashEscapes && text[i] === '\\') i += 2;
    else if (text[i] === quote && text[i + 1] === quote) i += 2;
    else if (text[i] === quote) return i + 1;
    else i += 1;
  }
  return text.length;
}
