import type { PhaseNumber, PhasesFile, ReleaseName } from '../spec/types.js';
import { currentPhase } from '../spec/types.js';
import { compareReleaseNames } from './order.js';

/** One change moving one phase forward. */
export interface PhaseMove {
  changeId: string;
  from: 0 | 1 | 2;
  to: PhaseNumber;
}

export type AdvanceOutcome =
  | { kind: 'advance'; release: ReleaseName; moves: PhaseMove[] }
  | { kind: 'nothing'; release: ReleaseName; message: string }
  | { kind: 'refused'; release: ReleaseName; message: string; hint: string; changeId?: string };

/**
 * What `advance --release R` does (pure): every in-flight change (phase < 3), or only `changeId`,
 * moves one phase into release R. Refused when that would put two phases of one change in R,
 * when R is an older release than the latest recorded one (or a new name that does not sort after it, unless
 * `forceOrder`), or when `changeId` cannot move.
 */
export function planAdvance(
  spec: PhasesFile,
  release: ReleaseName,
  options: { changeId?: string; forceOrder?: boolean } = {},
): AdvanceOutcome {
  const latest = spec.releases.at(-1);
  if (spec.releases.includes(release) && release !== latest) {
    return {
      kind: 'refused',
      release,
      message: `release ${release} comes before ${latest} in phases.yaml: phases are only added to the latest release or a new one`,
      hint: `pass the release you are preparing now, e.g. --release ${latest} or a new one after it`,
    };
  }
  // A typo such as 1.0.1 after 1.7.0 would file this release's phases before the ones already shipped.
  if (
    latest !== undefined &&
    !spec.releases.includes(release) &&
    compareReleaseNames(release, latest) <= 0 &&
    !options.forceOrder
  ) {
    return {
      kind: 'refused',
      release,
      message: `release ${release} does not sort after the latest release ${latest} in phases.yaml`,
      hint: `pass the release you are preparing now (after ${latest}); if your release names do not sort (numbers compare as numbers, the rest as text), add --force-order`,
    };
  }
  let candidates = spec.changes;
  if (options.changeId !== undefined) {
    const change = spec.changes.find((candidate) => candidate.id === options.changeId);
    if (!change) {
      const known = spec.changes.map((candidate) => candidate.id);
      return {
        kind: 'refused',
        release,
        changeId: options.changeId,
        message: `no change "${options.changeId}" in phases.yaml`,
        hint: known.length ? `use one of: ${known.join(', ')}` : 'declare it first with `phasectl plan rename …`',
      };
    }
    if (currentPhase(change) === 3) {
      return {
        kind: 'refused',
        release,
        changeId: change.id,
        message: `change "${change.id}" is already at phase 3 (released in ${change.releases.phase3}): it has nothing left to advance`,
        hint: 'leave it in phases.yaml (its migrations have shipped); advance other changes without --change',
      };
    }
    candidates = [change];
  }
  const inFlight = candidates.filter((change) => currentPhase(change) < 3);
  if (inFlight.length === 0) {
    return {
      kind: 'nothing',
      release,
      message:
        spec.changes.length === 0
          ? 'no changes in phases.yaml: plan one with `phasectl plan rename …`'
          : 'every change is at phase 3: nothing to advance',
    };
  }
  const moves: PhaseMove[] = [];
  for (const change of inFlight) {
    const from = currentPhase(change) as 0 | 1 | 2;
    const previousRelease = from === 0 ? undefined : change.releases[`phase${from}`];
    if (previousRelease === release) {
      const others = inFlight.filter((other) => other.id !== change.id && currentPhase(other) === 0);
      return {
        kind: 'refused',
        release,
        changeId: change.id,
        message: `change "${change.id}" shipped phase ${from} in release ${release}; phase ${from + 1} must ship in a later release`,
        hint:
          others.length > 0 && options.changeId === undefined
            ? `advance only the new changes now (e.g. --change ${others[0]!.id}), and "${change.id}" with the next release`
            : `run \`phasectl advance --release <next release>\` when preparing the next release`,
      };
    }
    moves.push({ changeId: change.id, from, to: (from + 1) as PhaseNumber });
  }
  return { kind: 'advance', release, moves };
}
