import type { Change } from '../spec/types.js';

/** What one target's database says about each change: phase by change id, or null when it could not be read. */
export interface TargetPhases {
  target: string;
  phases: Map<string, number> | null;
  /** Why the phases are unknown (unreachable, …). */
  reason?: string;
}

/** A phase 3 that must not start anywhere yet: these targets have not applied phase 2 of the change. */
export interface HeldPhaseThree {
  changeId: string;
  release: string;
  behind: { target: string; phase: number | null; reason?: string }[];
}

/**
 * The fleet-wide guard (pure): phase 3 of a change drops the old column, which the previous release's application
 * instances — still running against every database until the whole fleet has deployed — may still use only if some
 * database lacks phase 2. So phase 3 waits while any target is below phase 2, or unknown.
 */
export function heldPhaseThrees(changes: readonly Change[], states: readonly TargetPhases[]): HeldPhaseThree[] {
  const held: HeldPhaseThree[] = [];
  for (const change of changes) {
    const release = change.releases.phase3;
    if (release === undefined) continue;
    const phaseOf = (state: TargetPhases) => (state.phases === null ? null : (state.phases.get(change.id) ?? 0));
    if (states.every((state) => (phaseOf(state) ?? 0) >= 3)) continue;
    const behind = states
      .filter((state) => {
        const phase = phaseOf(state);
        return phase === null || phase < 2;
      })
      .map((state) => ({
        target: state.target,
        phase: phaseOf(state),
        ...(state.reason ? { reason: state.reason } : {}),
      }));
    if (behind.length > 0) held.push({ changeId: change.id, release, behind });
  }
  return held;
}

/**
 * The holds that concern a run going up to `limit` (the user's --to-release; undefined = everything): a phase 3 that
 * ships after `limit` is not part of the run, so it holds nothing back and is not reported. Pure.
 */
export function heldWithin(
  releases: readonly string[],
  held: readonly HeldPhaseThree[],
  limit: string | undefined,
): HeldPhaseThree[] {
  if (limit === undefined) return [...held];
  const end = releases.indexOf(limit);
  return held.filter((hold) => releases.indexOf(hold.release) <= end);
}

/**
 * The release a pass may go up to: the one before the earliest held phase 3, or `limit` (the user's --to-release;
 * undefined = everything) when that comes first. Pure.
 */
export function passLimit(
  releases: readonly string[],
  held: readonly HeldPhaseThree[],
  limit: string | undefined,
): string | undefined {
  let end = limit === undefined ? releases.length - 1 : releases.indexOf(limit);
  for (const hold of held) end = Math.min(end, releases.indexOf(hold.release) - 1);
  if (end === releases.length - 1 && limit === undefined) return undefined;
  // Phase 3 never ships in the first release (phases go 1 → 2 → 3, one release each), so `end` is never below 0.
  if (end < 0) throw new Error('phase 3 held in the first release');
  return releases[end];
}

/** `phase 3 of users-job-title (release 1.6.0) waits for tenant_07 (phase 1), tenant_12 (unreachable: …)`. */
export function describeHold(hold: HeldPhaseThree): string {
  const behind = hold.behind.map(
    (b) => `${b.target} (${b.phase === null ? (b.reason ?? 'state unknown') : `phase ${b.phase}`})`,
  );
  return `phase 3 of ${hold.changeId} (release ${hold.release}) waits until every target has applied phase 2; behind: ${behind.join(', ')}`;
}
