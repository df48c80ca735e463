/**
 * What a rename does for the objects outside the column that use it (phases.yaml `dependents:`), as step drafts
 * and contract context the rename operation splices in at its hook points. Pure.
 */
import type { StepDraft } from '../operations/step-drafts.js';
import type { RenameChange } from '../spec/types.js';
import { foreignKeysOnNewColumn, originalForeignKeys, type ForeignKeyPlan } from './foreign-keys.js';
import { triggerSwaps } from './triggers.js';

export interface RenameDependentSteps {
  /** Phase 1 up, after the indexes and constraints of the new column exist. */
  expand: StepDraft[];
  /** Phase 1 down, first (before the new column's unique index goes). */
  shrink: StepDraft[];
  /** Phase 3 contract: the drops and re-creations before DROP COLUMN (the function guard: contract-guards.ts). */
  contract: object;
  /** Phase 3 down, last (after the old column's unique index is back). */
  restore: StepDraft[];
  /** Foreign keys phase 1 creates under derived names (their names must be free at plan). */
  newForeignKeys: ForeignKeyPlan[];
}

export function renameDependentSteps(change: RenameChange): RenameDependentSteps {
  const { schema, table, from, to } = change.rename;
  const where = `change ${change.id} (${schema}.${table}.${from} → ${to})`;
  const keys = change.dependents?.foreignKeys ?? [];
  const copies = foreignKeysOnNewColumn(keys, from, to, where);
  const originals = originalForeignKeys(keys, from);
  const triggers = change.dependents?.triggers ?? [];
  const addSteps = (names: { add: string; validate: string }, plans: ForeignKeyPlan[], column: string): StepDraft[] => {
    if (plans.length === 0) return [];
    const toValidate = plans.filter((plan) => plan.validate);
    return [
      {
        name: names.add,
        summary: `point the foreign keys that reference ${from} at ${column} (NOT VALID: no scan)`,
        transaction: true,
        template: 'foreign-keys',
        context: { foreignKeys: plans },
      },
      ...(toValidate.length === 0
        ? []
        : [
            {
              name: names.validate,
              summary: `validate those foreign keys on ${column} (scans, writes continue)`,
              transaction: true,
              scan: true,
              template: 'validate-foreign-keys',
              context: { foreignKeys: toValidate },
            },
          ]),
    ];
  };
  return {
    expand: addSteps({ add: 'foreign-keys', validate: 'validate-foreign-keys' }, copies, to),
    shrink:
      copies.length === 0
        ? []
        : [
            {
              name: 'drop-foreign-keys',
              summary: `drop the foreign keys phase 1 pointed at ${to}`,
              transaction: true,
              template: 'drop-foreign-keys',
              context: {
                foreignKeys: copies.map((plan) => ({
                  ...plan,
                  comment: `intended drop: foreign key ${plan.name}, added by phase 1.`,
                })),
              },
            },
          ],
    contract: {
      recreateTriggers: triggerSwaps(triggers, from, to, where, 'contract'),
      dropForeignKeys: originals.map((plan) => ({
        ...plan,
        comment: `intended drop: foreign key ${plan.name} on ${from}; its copy on ${to} holds since phase 1.`,
      })),
    },
    restore: [
      ...addSteps({ add: 'restore-foreign-keys', validate: 'restore-validate-foreign-keys' }, originals, from),
      ...(triggers.length === 0
        ? []
        : [
            {
              name: 'restore-triggers',
              summary: `re-create the triggers that named ${from} on it again`,
              transaction: true,
              template: 'restore-triggers',
              context: { triggers: triggerSwaps(triggers, from, to, where, 'restore') },
            },
          ]),
    ],
    newForeignKeys: copies,
  };
}
