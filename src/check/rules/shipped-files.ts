import { changeIdFromPath } from '../../migration-file/header.js';
import type { Violation } from '../types.js';

/**
 * Rule 5: a file under db/ that exists at the base has shipped (or will ship from there): it is never
 * changed or removed. Compares blob ids: the base tree's (`git ls-tree`) with the working tree's (`git hash-object`).
 * `working` has no entry for files removed from the working tree; `firstChangedLine` locates edits when known.
 */
export function shippedFileViolations(input: {
  base: Map<string, string>;
  working: Map<string, string>;
  baseLabel: string;
  /** A commit id `git checkout` accepts, for the fix. */
  baseCommit: string;
  firstChangedLine?: Map<string, number>;
}): Violation[] {
  const violations: Violation[] = [];
  for (const [path, blob] of input.base) {
    const now = input.working.get(path);
    if (now === blob) continue;
    const changeId = changeIdFromPath(path);
    if (now === undefined) {
      violations.push({
        rule: 5,
        changeId,
        file: path,
        message: `was removed, but it exists at the base (${input.baseLabel}): files that reached the base are immutable`,
        fix: `restore it (\`git checkout ${input.baseCommit} -- '${path}'\`); to undo a change, add a new phase or change instead of deleting shipped files`,
      });
    } else {
      const line = input.firstChangedLine?.get(path);
      violations.push({
        rule: 5,
        changeId,
        file: path,
        ...(line === undefined ? {} : { line, column: 1 }),
        message: `was changed after it reached the base (${input.baseLabel}): databases that applied it never see the edit, and its checksum no longer matches`,
        fix: `restore it (\`git checkout ${input.baseCommit} -- '${path}'\`) and put the change in a new migration or change`,
      });
    }
  }
  return violations;
}
