/**
 * Text written into generated JavaScript/TypeScript. Two shapes only, so nothing we write can become code:
 * a string literal escaped by `jsString` (every character that is not plainly printable becomes an escape),
 * or a `//` comment passed through `jsComment` (no line terminator and no non-printing character left).
 */

/**
 * Escaped in string literals and replaced in comments: controls (Cc; CR and LF among them), format characters
 * (Cf), lone surrogates (Cs), private-use (Co), unassigned (Cn), and the separators U+2028/U+2029 (Zl, Zp),
 * which end a line — and so a `//` comment — in JavaScript.
 */
const unsafe = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;

const shortEscapes: Record<string, string> = { '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * A single-quoted JavaScript string literal whose value is `text`: the JSON escaping of a string (backslash,
 * quote, CR/LF/tab, every unsafe character as `\uXXXX`), quoted with `'` so the SQL's double-quoted
 * identifiers stay readable. Pure.
 */
export function jsString(text: string): string {
  let out = "'";
  for (const character of text) {
    const short = shortEscapes[character];
    if (short !== undefined) out += short;
    else if (unsafe.test(character)) out += utf16Escapes(character);
    else out += character;
  }
  return `${out}'`;
}

/**
 * `text` as one JavaScript expression, one string literal per line joined with '\n', so multi-line SQL stays
 * readable; `indent` is the indentation of the line the expression starts on. Pure.
 */
export function jsText(text: string, indent: string): string {
  const lines = text.split('\n');
  if (lines.length === 1) return jsString(text);
  return `[\n${lines.map((line) => `${indent}  ${jsString(line)},`).join('\n')}\n${indent}].join('\\n')`;
}

/** `text` fit for a `//` comment: line breaks become spaces, other unsafe characters `?`. Pure. */
export function jsComment(text: string): string {
  return text.replace(/\s*[\r\n\u2028\u2029]+\s*/g, ' ').replace(new RegExp(unsafe.source, 'gu'), '?');
}

function utf16Escapes(character: string): string {
  let out = '';
  for (let i = 0; i < character.length; i += 1) out += `\\u${character.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}
