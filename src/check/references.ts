/**
 * Finding a column's name in source text (rule 6): whole identifiers only, the exact name and the
 * camelCase form ORMs map it to, and the `phasectl-ignore: <reason>` escape hatch.
 */

export interface NameForm {
  text: string;
  /** How the text relates to the column name, for the message. */
  form: 'exact name' | 'camelCase form';
}

/** `job_title` → the exact name and `jobTitle`; a name without `_` has only its exact form. */
export function nameForms(column: string): NameForm[] {
  const forms: NameForm[] = [{ text: column, form: 'exact name' }];
  const camel = column.replace(/(?<=[A-Za-z0-9])_+([A-Za-z0-9])/g, (_match, letter: string) => letter.toUpperCase());
  if (camel !== column) forms.push({ text: camel, form: 'camelCase form' });
  return forms;
}

export interface Occurrence {
  /** 1-based, in characters. */
  column: number;
  form: NameForm;
}

const WORD = 'A-Za-z0-9_';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Every whole-identifier occurrence of any form in a line (quoted or not: quotes are not word characters). */
export function findOccurrences(line: string, forms: NameForm[]): Occurrence[] {
  return occurrenceFinder(forms)(line);
}

/**
 * `findOccurrences` for one set of forms, its patterns compiled once (rule 6 tests every grep hit against
 * every dropped column). A line that does not contain a form's text is skipped without a regular expression.
 */
export function occurrenceFinder(forms: NameForm[]): (line: string) => Occurrence[] {
  const patterns = forms.map((form) => ({
    form,
    pattern: new RegExp(`(?<![${WORD}])${escapeRegExp(form.text)}(?![${WORD}])`, 'g'),
  }));
  return (line) => {
    const occurrences: Occurrence[] = [];
    for (const { form, pattern } of patterns) {
      if (!line.includes(form.text)) continue;
      for (const match of line.matchAll(pattern)) occurrences.push({ column: match.index + 1, form });
    }
    return occurrences.sort((a, b) => a.column - b.column);
  };
}

export type IgnoreDirective =
  { kind: 'none' } | { kind: 'ignored'; reason: string } | { kind: 'no-reason'; column: number };

/**
 * Reads a `phasectl-ignore: <reason>` comment on the line. The reason is required: a bare
 * `phasectl-ignore` (or one with an empty reason) does not silence anything.
 */
export function ignoreDirective(line: string): IgnoreDirective {
  const match = /phasectl-ignore\b(?::(.*))?/.exec(line);
  if (!match) return { kind: 'none' };
  const reason = (match[1] ?? '')
    .replace(/(\*\/|-->|%>|\}\})\s*$/, '') // block-comment closers are not part of the reason
    .trim();
  return reason === '' ? { kind: 'no-reason', column: match.index + 1 } : { kind: 'ignored', reason };
}
