import type { GrepHit } from '../git.js';
import { ignoreDirective, nameForms, occurrenceFinder } from '../references.js';
import type { Violation } from '../types.js';

/** A change entering phase 3 in this pull request: phase 3 drops `column` of `table`. */
export interface DroppedColumn {
  changeId: string;
  /** Qualified table name for messages, e.g. `public.users`. */
  table: string;
  column: string;
}

const IGNORE_HINT = 'if this is not that column, end the line with a comment `phasectl-ignore: <reason>`';

/**
 * Rule 6: before phase 3 drops the old column, no tracked source file names it — at HEAD, and at the base
 * too (during the phase-3 deploy the previous release's instances still run the base's code). `head` and
 * `base.hits` are the lines `git grep -w` found for any of the names (see `nameForms`); each line is
 * re-read here for the exact occurrences and the `phasectl-ignore: <reason>` comment.
 * A base hit is reported only for files HEAD does not already report for the same change.
 */
export function oldColumnReferenceViolations(input: {
  dropped: DroppedColumn[];
  head: GrepHit[];
  base?: { hits: GrepHit[]; label: string };
}): Violation[] {
  const violations: Violation[] = [];
  for (const dropped of input.dropped) {
    const findOccurrences = occurrenceFinder(nameForms(dropped.column));
    const qualified = `${dropped.table}.${dropped.column}`;
    const headFiles = new Set<string>();
    for (const hit of input.head) {
      const occurrences = findOccurrences(hit.text);
      if (occurrences.length === 0) continue;
      headFiles.add(hit.path);
      const directive = ignoreDirective(hit.text);
      if (directive.kind === 'ignored') continue;
      for (const occurrence of occurrences) {
        violations.push({
          ...at(dropped, hit, occurrence),
          message:
            `still names ${qualified} (${occurrence.form.form} \`${occurrence.form.text}\`), which phase 3 drops` +
            (directive.kind === 'no-reason'
              ? '; the phasectl-ignore comment on this line has no reason, so it does not count'
              : ''),
          fix:
            directive.kind === 'no-reason'
              ? 'give the reason: `phasectl-ignore: <why this is not that column>`, or remove the reference'
              : `remove the reference (code stops using the column one release before phase 3); ${IGNORE_HINT}`,
        });
      }
    }
    if (!input.base) continue;
    for (const hit of input.base.hits) {
      if (headFiles.has(hit.path)) continue;
      const occurrences = findOccurrences(hit.text);
      if (occurrences.length === 0 || ignoreDirective(hit.text).kind === 'ignored') continue;
      for (const occurrence of occurrences) {
        violations.push({
          ...at(dropped, hit, occurrence),
          message:
            `only the base (${input.base.label}) still names ${qualified} here (${occurrence.form.form} \`${occurrence.form.text}\`): ` +
            'during the phase-3 deploy the previous release keeps running this code while the column is dropped',
          fix: 'ship the code without the reference first: take phase 3 out of this pull request (remove phase3 from phases.yaml, `phasectl generate`) and add it in the next release',
        });
      }
    }
  }
  return violations;
}

/** Rule, change and file:line:column of one occurrence: the part every rule-6 violation shares. */
function at(
  dropped: DroppedColumn,
  hit: GrepHit,
  occurrence: { column: number },
): Pick<Violation, 'rule' | 'changeId' | 'file' | 'line' | 'column'> {
  return { rule: 6, changeId: dropped.changeId, file: hit.path, line: hit.line, column: occurrence.column };
}
