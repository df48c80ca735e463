import { InputError } from '../errors.js';
import { phaseSteps } from '../operations/index.js';
import type { BackfillPlan, PhaseSteps } from '../operations/types.js';
import { loadPhasesFile } from '../spec/load.js';
import type { Change, PhaseNumber } from '../spec/types.js';
import type { MigrationHeader } from './migration-files.js';

/** Finds the BackfillPlan of an `action=backfill|verify` file (from phases.yaml and the operations). */
export type PlanResolver = (header: MigrationHeader, fileName: string) => Promise<BackfillPlan>;

export type StepsOf = (change: Change, phase: PhaseNumber) => PhaseSteps;

/**
 * The plan of the step a header names: the change from phases.yaml, its phase's steps, the step with the
 * header's direction and order. The file body is only the equivalent for other runners.
 */
export function planResolver(phasesFile: string, stepsOf: () => Promise<StepsOf>): PlanResolver {
  let changes: Promise<Change[]> | undefined;
  return async (header, fileName) => {
    changes ??= loadPhasesFile(phasesFile).then((loaded) => loaded.spec.changes);
    const change = (await changes).find((candidate) => candidate.id === header.changeId);
    if (!change) {
      throw new InputError(`${fileName} belongs to change ${header.changeId}, which is not in phases.yaml`, {
        location: { file: phasesFile },
        hint: 'restore the change in phases.yaml (changes are removed only after phase 3 shipped everywhere)',
      });
    }
    const steps = (await stepsOf())(change, header.phase);
    const step = steps[header.direction].find((candidate) => candidate.order === header.order);
    if (!step?.backfill) {
      throw new InputError(`${fileName}: phase ${header.phase} of ${header.changeId} has no ${header.action} step ${header.order}`, {
        hint: 'the file and phases.yaml disagree: run `phasectl generate --check` to see which is stale',
      });
    }
    return step.backfill;
  };
}

/** The operations' `phaseSteps` with the default generation settings. */
export async function defaultStepsOf(): Promise<StepsOf> {
  return (change, phase) => phaseSteps(change, phase);
}
