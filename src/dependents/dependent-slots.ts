/**
 * What else uses the column, as one change adds it to the shared column-copy slots (src/operations/column-copy.ts):
 * step drafts for phase 1 up and down and phase 3 down, and the contract's context. Computed once per change, the
 * same path for rename and move. A rename carries views, virtual generated columns, foreign keys from other tables
 * and triggers; a move carries none of them (none can follow a column to another table without the join: plan
 * refuses them, or lists the views as the team's work and phase 3 guards them). Functions are guarded for both kinds
 * in contract-guards.ts. Pure.
 */
import { InputError } from '../errors.js';
import type { StepDraft } from '../operations/step-drafts.js';
import type { DerivedObject } from '../operations/types.js';
import type { Change } from '../spec/types.js';
import { renameDependentSteps } from './rename-steps.js';
import { renameDependents, viewContractContext, viewRestoreStep } from './views.js';

export interface DependentSlots {
  /** Phase 1 up, after the copies of the column's indexes and constraints (`copySteps`). */
  copy: StepDraft[];
  /** Phase 1 down, before the copies are dropped (`dropCopySteps`). */
  dropCopy: StepDraft[];
  /** Phase 3 contract: context of the re-creations and drops before DROP COLUMN (`contractGuards`). */
  contract: object;
  /** Phase 3 down, before the original indexes and constraints come back (`restoreSteps`). */
  restoreFirst: Array<StepDraft | undefined>;
  /** Phase 3 down, last (`restoreSteps`). */
  restore: StepDraft[];
  /** Objects phase 1 creates under derived names (`copiedObjects`). */
  derivedObjects: DerivedObject[];
}

export const noDependents: DependentSlots = {
  copy: [],
  dropCopy: [],
  contract: {},
  restoreFirst: [],
  restore: [],
  derivedObjects: [],
};

/** The slots of `change`. Throws InputError for a record phasectl cannot carry (e.g. a view under a move). */
export function dependentSlots(change: Change, where: string): DependentSlots {
  if (change.kind === 'move') {
    refuseMoveRecords(change, where);
    return noDependents;
  }
  const views = renameDependents(change, where);
  const steps = renameDependentSteps(change);
  return {
    copy: steps.expand,
    dropCopy: steps.shrink,
    contract: { ...steps.contract, ...viewContractContext(change, views) },
    restoreFirst: [viewRestoreStep(views, change.rename.from)],
    restore: steps.restore,
    derivedObjects: steps.newForeignKeys.map((key): DerivedObject => ({
      kind: 'constraint',
      schema: key.schema,
      table: key.table,
      name: key.name,
      about: `the copy of foreign key on ${key.schema}.${key.table}`,
    })),
  };
}

/** `plan move` records only functions; anything else in a move's record was written by hand and would be ignored. */
function refuseMoveRecords(change: Change & { kind: 'move' }, where: string): void {
  const recorded = [
    ...(change.dependents?.views ?? []).map((view) => `view ${view.schema}.${view.name}`),
    ...(change.dependents?.generated ?? []).map((column) => `generated column ${column.name}`),
    ...(change.dependents?.foreignKeys ?? []).map((key) => `foreign key ${key.name} on ${key.schema}.${key.table}`),
    ...(change.dependents?.triggers ?? []).map((trigger) => `trigger ${trigger.name}`),
  ];
  if (recorded.length === 0) return;
  throw new InputError(
    `${where}: phases.yaml records ${recorded.join(', ')} for a move; a move cannot carry them to another table`,
    {
      hint: 'remove them from the record and plan the move again (plan move refuses what it cannot carry, and says what to do)',
    },
  );
}
