import type { Change, PhaseNumber, PhasesFile } from '../spec/types.js';

/**
 * A broken release rule in phases.yaml:
 * 1. phases go 1 → 2 → 3, none skipped, each in a later release (of the top-level `releases:` list)
 *    than the phase before;
 * 2. no release holds two phases of one change.
 */
export interface LedgerViolation {
  rule: 1 | 2;
  changeId: string;
  message: string;
  hint: string;
  /** Path of the offending key in phases.yaml, e.g. ['changes', 0, 'releases', 'phase2']. */
  path: (string | number)[];
}

const PHASES: PhaseNumber[] = [1, 2, 3];

/** Every violation of the release rules in the ledger (pure). Empty when the ledger is sound. */
export function ledgerViolations(spec: PhasesFile): LedgerViolation[] {
  const violations: LedgerViolation[] = [];
  spec.changes.forEach((change, index) => {
    violations.push(...changeViolations(spec, change, ['changes', index]));
  });
  // Archived changes keep their ledger: their files are still generated from it.
  (spec.archived ?? []).forEach((change, index) => {
    violations.push(...changeViolations(spec, change, ['archived', index]));
  });
  return violations;
}

function changeViolations(spec: PhasesFile, change: Change, at: [string, number]): LedgerViolation[] {
  const violations: LedgerViolation[] = [];
  const path = (phase: PhaseNumber) => [...at, 'releases', `phase${phase}`];
  const seen = new Map<string, PhaseNumber>();
  for (const phase of PHASES) {
    const release = change.releases[`phase${phase}`];
    if (release === undefined) continue;
    const violation = (rule: 1 | 2, message: string, hint: string) =>
      violations.push({
        rule,
        changeId: change.id,
        message: `change "${change.id}": ${message}`,
        hint,
        path: path(phase),
      });
    if (phase > 1 && change.releases[`phase${(phase - 1) as PhaseNumber}`] === undefined) {
      violation(
        1,
        `phase ${phase} is recorded in ${release} but phase ${phase - 1} has no release: phases go 1 → 2 → 3, none skipped`,
        `remove phase${phase}, or record phase${phase - 1}; releases are written by \`phasectl advance\`, not by hand`,
      );
    }
    const earlierPhase = seen.get(release);
    if (earlierPhase !== undefined) {
      violation(
        2,
        `phases ${earlierPhase} and ${phase} are both in release ${release}: one release holds at most one phase of a change`,
        `ship phase ${phase} in a later release: remove phase${phase} and run \`phasectl advance --release <next release>\` then`,
      );
    }
    seen.set(release, phase);
    const position = spec.releases.indexOf(release);
    if (position < 0) {
      violation(
        1,
        `phase ${phase} is in release ${release}, which is not in the top-level releases list`,
        `add ${release} to \`releases:\` in order, or let \`phasectl advance\` record it`,
      );
      continue;
    }
    const previous = phase > 1 ? change.releases[`phase${(phase - 1) as PhaseNumber}`] : undefined;
    if (previous !== undefined && previous !== release) {
      const previousPosition = spec.releases.indexOf(previous);
      if (previousPosition >= 0 && previousPosition > position) {
        violation(
          1,
          `phase ${phase} is in release ${release}, which comes before ${previous} (phase ${phase - 1}) in the releases list`,
          `each phase ships in a later release than the phase before; fix the order of \`releases:\` or of the phase releases`,
        );
      }
    }
  }
  return violations;
}
