import { InputError } from '../errors.js';
import type { Change } from './types.js';

/**
 * Characters no name may hold: C0/C1 controls (Cc), format characters such as bidi overrides and zero-width
 * marks (Cf), lone surrogates (Cs), private-use (Co) and unassigned (Cn) code points, and the line/paragraph
 * separators U+2028/U+2029 (Zl, Zp). A line break ends a `--` comment of the generated SQL; U+2028/U+2029 also end a
 * `//` comment of generated JavaScript; the others are invisible in review. Every name is printable or refused.
 */
export const NON_PRINTING = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u;
const nonPrintingAll = new RegExp(NON_PRINTING.source, 'gu');

/** The first non-printing character of `text` as `U+2028`, or undefined when it has none. */
export function firstNonPrinting(text: string): string | undefined {
  const found = NON_PRINTING.exec(text)?.[0];
  return found === undefined ? undefined : `U+${found.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** `text` with every non-printing character replaced by `?`: safe to print or to put in a comment. */
export function printable(text: string): string {
  return text.replace(nonPrintingAll, '?');
}

/** `name` quoted for a message, every non-printing character shown as its escape (`\u2028`). */
function quoted(name: string): string {
  return JSON.stringify(name).replace(nonPrintingAll, (character) =>
    [...Array(character.length).keys()]
      .map((i) => `\\u${character.charCodeAt(i).toString(16).padStart(4, '0')}`)
      .join(''),
  );
}

/** The error for a name holding a non-printing character; `role` is "table", "index" … */
export function nonPrintingNameError(role: string, name: string, where: string): InputError {
  return new InputError(
    `${printable(where)}: the ${role} name ${quoted(name)} contains a non-printing character (${firstNonPrinting(name)}: a control character, line break, line/paragraph separator, format or unassigned character)`,
    { hint: 'rename that object to a name of printable characters first (ALTER … RENAME), then plan again' },
  );
}

/**
 * Refuses names holding non-printing characters (NON_PRINTING). Names appear in the comments that explain each
 * step (SQL and JavaScript), and a line break there would turn the rest of the name into code: refusing is the
 * only safe reading. `names` pairs a role ("table", "index" …) with the name.
 */
export function refuseControlCharacters(names: Array<[string, string]>, where: string): void {
  for (const [role, name] of names) {
    if (NON_PRINTING.test(name)) throw nonPrintingNameError(role, name, where);
  }
}

/** Every name of a change, with its role: what `plan` checks before writing phases.yaml. */
export function changeNames(change: Change): Array<[string, string]> {
  const located: Array<[string, string]> =
    change.kind === 'rename'
      ? [
          ['schema', change.rename.schema],
          ['table', change.rename.table],
          ['column', change.rename.from],
          ['new column', change.rename.to],
        ]
      : [
          ['source schema', change.move.from.schema],
          ['source table', change.move.from.table],
          ['source column', change.move.from.column],
          ['target schema', change.move.to.schema],
          ['target table', change.move.to.table],
          ['target column', change.move.to.column],
          ...change.move.on.flatMap((pair): Array<[string, string]> => [
            ['join column', pair.from],
            ['join column', pair.to],
          ]),
          ...(change.target.uniqueIndex === undefined
            ? []
            : [['target unique index', change.target.uniqueIndex] as [string, string]]),
        ];
  return [
    ...located,
    ...change.key.columns.map((name): [string, string] => ['key column', name]),
    ...change.column.indexes.map((index): [string, string] => ['index', index.name]),
    ...change.column.constraints.map((constraint): [string, string] => ['constraint', constraint.name]),
  ];
}
