import type { Step } from '../operations/types.js';
import type { ReleaseName } from '../spec/types.js';

/** One generated step with where it ships: what `generatedFiles` knows about each migration file. */
export interface ReleasedStep {
  /** 1-based position of the release in phases.yaml's `releases:`. */
  releaseIndex: number;
  release: ReleaseName;
  step: Step;
  /** phasectl's own file name for the step, e.g. `001_1.4.0_x_p1_01_expand.up.sql`. */
  fileName: string;
}

/**
 * A migration for a runner that pairs one `up` with one `down` (kysely, db-migrate).
 *
 * Mapping (docs/formats.md): one migration per up step, in phasectl's file order. A phase's down
 * steps are not one-to-one with its up steps, so the down of the phase's FIRST migration runs all the
 * phase's down steps in order, and the other migrations of the phase have an empty down. Rolling back
 * a whole phase (the unit phasectl rolls back) therefore restores the previous state exactly; rolling back
 * only the tail of a phase changes nothing in the database, and migrating up again re-runs those
 * (idempotent) steps.
 */
export interface RunnerMigration {
  /** phasectl's file name without `.up.sql`; sorts like the files. */
  name: string;
  releaseIndex: number;
  release: ReleaseName;
  up: Step;
  /** Run in this order; empty for every migration of a phase but the first. */
  down: Step[];
}

/** Pairs up and down steps as described on `RunnerMigration`, sorted by name. Pure. */
export function runnerMigrations(steps: ReleasedStep[]): RunnerMigration[] {
  const downsByPhase = new Map<string, ReleasedStep[]>();
  const phaseKey = (s: ReleasedStep) => `${s.releaseIndex}\u0000${s.step.changeId}\u0000${s.step.phase}`;
  for (const entry of steps) {
    if (entry.step.direction !== 'down') continue;
    downsByPhase.set(phaseKey(entry), [...(downsByPhase.get(phaseKey(entry)) ?? []), entry]);
  }
  const ups = steps.filter((entry) => entry.step.direction === 'up').sort((a, b) => compare(a.fileName, b.fileName));
  const firstSeen = new Set<string>();
  return ups.map((entry) => {
    const key = phaseKey(entry);
    const first = !firstSeen.has(key);
    firstSeen.add(key);
    const down = first ? (downsByPhase.get(key) ?? []).map((d) => d.step).sort((a, b) => a.order - b.order) : [];
    return {
      name: entry.fileName.replace(/\.up\.sql$/, ''),
      releaseIndex: entry.releaseIndex,
      release: entry.release,
      up: entry.step,
      down,
    };
  });
}

/** Byte order, the order phasectl's own runner applies files in. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
