import type { Change, PhaseNumber } from '../spec/types.js';
import { moveOperation } from './move.js';
import { renameOperation } from './rename.js';
import { defaultGenerationSettings, type GenerationSettings } from './settings.js';
import type { Authority, BackfillPlan, DerivedObject, Operation, PhaseSteps } from './types.js';

export { defaultGenerationSettings, type GenerationSettings } from './settings.js';
export { renameOperation } from './rename.js';
export { moveOperation } from './move.js';

/** The operation that handles a change's kind. */
export function operationFor(change: Change): Operation {
  switch (change.kind) {
    case 'rename':
      return renameOperation as Operation;
    case 'move':
      return moveOperation as Operation;
  }
}

/** The up and down steps of one phase of a change, rendered with `settings` (timeouts, template folder). */
export function phaseSteps(
  change: Change,
  phase: PhaseNumber,
  settings: GenerationSettings = defaultGenerationSettings,
): PhaseSteps {
  return operationFor(change).steps(change, phase, settings);
}

/**
 * The one way to get a change's backfill plan (backfill, and verify with `up`): what its backfill file carries
 * and phasectl's engine runs. Pure; renders no template.
 */
export function backfillPlan(change: Change, direction: 'up' | 'down'): BackfillPlan {
  return operationFor(change).backfillPlan(change, direction);
}

/** The plan of `backfill --repair` for the sync function in place: `authority` new once phase 2 is applied. */
export function repairPlan(change: Change, authority: Authority): BackfillPlan {
  return operationFor(change).repairPlan(change, authority);
}

/** The objects a change's phase 1 creates under derived names, for the plan-time check that the names are free. */
export function derivedObjects(change: Change): DerivedObject[] {
  return operationFor(change).derivedObjects(change);
}
