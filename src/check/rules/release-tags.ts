import { InputError } from '../../errors.js';
import type { PhasesFile } from '../../spec/types.js';
import { locateFirst, type Locate, type Violation } from '../types.js';

/** The tag a release is expected under: the pattern's `*` stands for the release name (`v*`, 1.4.0 → `v1.4.0`). */
export function releaseTagName(pattern: string, release: string): string {
  if (!pattern.includes('*')) {
    throw new InputError(`--release-tags ${pattern} has no * to stand for the release name`, {
      hint: 'write the tag pattern with a *, e.g. --release-tags "v*" for tags like v1.4.0',
    });
  }
  return pattern.replace('*', release);
}

/**
 * Rule 7: phase N+1 may be added only once phase N's release has shipped, i.e. carries a tag matching the
 * pattern. With a base, only phases added since the base are checked; without one, every recorded phase.
 */
export function releaseTagViolations(input: {
  head: PhasesFile;
  base?: PhasesFile;
  pattern: string;
  tags: Set<string>;
  phasesFile: string;
  locate: Locate;
  shallow: boolean;
}): Violation[] {
  const baseChanges = new Map((input.base?.changes ?? []).map((change) => [change.id, change]));
  const violations: Violation[] = [];
  input.head.changes.forEach((change, index) => {
    for (const previous of [1, 2] as const) {
      const key = `phase${previous + 1}` as 'phase2' | 'phase3';
      const shippedBefore = change.releases[`phase${previous}`];
      if (!change.releases[key] || shippedBefore === undefined) continue;
      if (input.base && baseChanges.get(change.id)?.releases[key] !== undefined) continue;
      const tag = releaseTagName(input.pattern, shippedBefore);
      if (input.tags.has(tag)) continue;
      violations.push({
        rule: 7,
        changeId: change.id,
        file: input.phasesFile,
        ...locateFirst(input.locate, ['changes', index, 'releases', key], ['changes', index]),
        message: `phase ${previous + 1} of ${change.id} is added, but phase ${previous}'s release ${shippedBefore} has no tag ${tag}: it has not shipped yet`,
        fix:
          `add phase ${previous + 1} after release ${shippedBefore} is tagged ${tag} and deployed` +
          (input.shallow ? ' (this is a shallow clone: if the tag exists, fetch it with `git fetch --tags`)' : ''),
      });
    }
  });
  return violations;
}
