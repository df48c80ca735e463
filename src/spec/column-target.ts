import { InputError } from '../errors.js';

/** A `[schema.]table.column` the user typed, split into its parts. */
export interface ParsedColumnTarget {
  schema: string;
  table: string;
  column: string;
}

/**
 * Splits `[schema.]table.column`, PostgreSQL style: unquoted parts are folded to lower case,
 * double-quoted parts keep case, dots and spaces (`""` is a quote). The schema defaults to public.
 */
export function parseColumnTarget(text: string): ParsedColumnTarget {
  const parts: string[] = [];
  let index = 0;
  const fail = (why: string) =>
    new InputError(`cannot read column "${text}": ${why}`, {
      hint: 'write [schema.]table.column, quoting names with capitals, dots or spaces: "My Schema"."t.x".col',
    });
  while (index <= text.length) {
    let part = '';
    if (text[index] === '"') {
      index++;
      for (;;) {
        if (index >= text.length) throw fail('a quoted name is not closed');
        if (text[index] === '"') {
          if (text[index + 1] === '"') {
            part += '"';
            index += 2;
            continue;
          }
          index++;
          break;
        }
        part += text[index++];
      }
      if (part === '') throw fail('a quoted name is empty');
    } else {
      const end = text.indexOf('.', index);
      part = (end < 0 ? text.slice(index) : text.slice(index, end)).trim();
      if (part === '') throw fail('a name is missing');
      if (part.includes('"')) throw fail('a quote in the middle of a name');
      index += end < 0 ? text.length - index : end - index;
      // PostgreSQL folds unquoted names to lower case, ASCII letters only.
      part = part.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
    }
    parts.push(part);
    if (index >= text.length) break;
    if (text[index] !== '.') throw fail(`unexpected "${text[index]}" after a quoted name`);
    index++;
    if (index >= text.length) throw fail('it ends with a dot');
  }
  if (parts.length === 2) return { schema: 'public', table: parts[0]!, column: parts[1]! };
  if (parts.length === 3) return { schema: parts[0]!, table: parts[1]!, column: parts[2]! };
  throw fail(parts.length < 2 ? 'name both the table and the column' : 'too many parts (at most schema.table.column)');
}

/** The default change id: `<table>-<from>-to-<to>`, lower case, other characters as "-", at most 40. */
export function defaultChangeId(table: string, from: string, to: string): string {
  const slug = `${table}-${from}-to-${to}`
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, 40).replace(/-+$/, '') || 'change';
}
