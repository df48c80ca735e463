import { allChanges, currentPhase, type Change, type PhasesFile } from '../../spec/types.js';
import { locateFirst, type Locate, type Violation } from '../types.js';

/**
 * Rule 3: between the base and HEAD a change gains at most one phase (a change new in HEAD may be at
 * phase 1 at most), and a phase recorded at the base is never removed or moved to another release.
 * Reported at the first offending `phaseN:` key of HEAD's phases.yaml.
 */
export function phaseStepViolations(input: {
  base: PhasesFile;
  head: PhasesFile;
  phasesFile: string;
  locate: Locate;
  baseLabel: string;
}): Violation[] {
  const { base, head, phasesFile, locate, baseLabel } = input;
  const baseChanges = new Map(allChanges(base).map((change) => [change.id, change]));
  const violations: Violation[] = [];
  // An archived change is checked like a live one: archiving does not let a phase be skipped or moved.
  const listed: [Change, (string | number)[]][] = [
    ...head.changes.map((change, index): [Change, (string | number)[]] => [change, ['changes', index]]),
    ...(head.archived ?? []).map((change, index): [Change, (string | number)[]] => [change, ['archived', index]]),
  ];
  listed.forEach(([change, at]) => {
    const before = baseChanges.get(change.id);
    const from = before ? currentPhase(before) : 0;
    const to = currentPhase(change);
    const releasesPath = [...at, 'releases'];
    if (to > from + 1) {
      const first = `phase${from + 2}` as const;
      const added = Array.from({ length: to - from }, (_unused, offset) => `phase${from + 1 + offset}`);
      violations.push({
        rule: 3,
        changeId: change.id,
        file: phasesFile,
        ...locateFirst(locate, [...releasesPath, first], releasesPath, at),
        message: before
          ? `${change.id} goes from phase ${from} at the base (${baseLabel}) to phase ${to}: one pull request may add one phase (${added.join(', ')} added)`
          : `${change.id} is new but already at phase ${to}: a new change enters at phase 1 (${added.join(', ')} added)`,
        fix: `keep ${added[0]} only: remove ${added.slice(1).join(', ')} from phases.yaml, run \`phasectl generate\` and commit; the next phase ships in the next release (\`phasectl advance --release <next>\`)`,
      });
    }
    if (!before) return;
    for (const phase of [1, 2, 3] as const) {
      const key = `phase${phase}` as const;
      const was = before.releases[key];
      const now = change.releases[key];
      if (was === undefined || was === now) continue;
      violations.push({
        rule: 3,
        changeId: change.id,
        file: phasesFile,
        ...locateFirst(locate, [...releasesPath, key], releasesPath, at),
        message:
          now === undefined
            ? `${key} of ${change.id} (release ${was}) is recorded at the base (${baseLabel}) but removed here: a phase that reached the base is not taken back by editing the ledger`
            : `${key} of ${change.id} moved from release ${was} (at the base, ${baseLabel}) to ${now}: the release of a recorded phase does not change`,
        fix: `restore \`${key}: ${was}\`; to undo a phase in a database use \`phasectl rollback\`, and plan a new change to reverse it in the code`,
      });
    }
  });
  return violations;
}
