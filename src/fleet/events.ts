import type { RunnerEvent } from '../events.js';
import type { HeldPhaseThree } from './guard.js';
import type { FleetTargetResult } from './summary.js';

/** What a fleet run reports while it works (the CLI prints them; library callers pass `log`). */
export type FleetEvent =
  | { type: 'fleet-targets'; targets: { name: string; where: string }[]; concurrency: number }
  | { type: 'fleet-hold'; hold: HeldPhaseThree; stopAt: string | undefined }
  | { type: 'target-start'; target: string; where: string }
  /** An event of the run on one target, as the single-database commands report it. */
  | { type: 'target'; target: string; event: RunnerEvent }
  | { type: 'target-done'; result: FleetTargetResult };

export type FleetLog = (event: FleetEvent) => void;
