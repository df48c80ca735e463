/**
 * What phase 3's contract checks about the rest of the database before the old column goes, the same for rename and
 * move: the context its template's guard partials read (no trigger function still names the column; no function or
 * procedure still names it, once `plan` has read them into `dependents:`), with what the dependents re-create or
 * drop in the same transaction (src/dependents/dependent-slots.ts). Pure.
 */
import { functionGuard } from '../dependents/functions.js';
import { triggerSourceGuard } from './column-mention.js';
import { columnDependentsGuard } from './column-dependents-guard.js';
import type { ColumnCopy } from './column-copy.js';
import { triggerDefinitionGuard } from './trigger-definition-guard.js';
import { identityIndexPairs } from './carried-identity.js';

/** The contract's guards, and the dependents' context (re-created triggers, re-pointed views, dropped keys). */
export function contractGuards(columnCopy: ColumnCopy) {
  const { changeId, original, copy, dependents, facts } = columnCopy.sides;
  const rename = original.table === copy.table && original.schema === copy.schema;
  const contract = columnCopy.dependents.contract as { repointedGenerated?: Array<{ name: string }> };
  return {
    // Whatever else depends on the column in pg_depend now (policies, publications, objects created since plan).
    ...columnDependentsGuard({
      changeId,
      original,
      copy: { table: copy.table, column: copy.column },
      rename,
      recordedRelations: [
        ...facts.indexes.flatMap((index) => [
          index.name,
          ...(index.constraint === undefined ? [] : [index.constraint]),
        ]),
        ...facts.constraints.map((constraint) => constraint.name),
      ],
      recordedForeignKeys: rename ? (dependents?.foreignKeys ?? []) : [],
      recordedGenerated: rename ? (contract.repointedGenerated ?? []).map((column) => column.name) : [],
      identityIndexPairs: identityIndexPairs(columnCopy),
    }),
    ...triggerSourceGuard(changeId, { schema: original.schema, table: original.table }, original.column, copy.label),
    // Triggers created after plan that name the column in their definition (recorded ones are re-created).
    ...triggerDefinitionGuard(
      changeId,
      original,
      copy,
      (dependents?.triggers ?? []).map((trigger) => trigger.name),
    ),
    // A change planned before phasectl read the functions has no record of them: its generated SQL stays as it was.
    functionGuard: dependents?.functions !== undefined,
    ...functionGuard(
      changeId,
      original.column,
      copy.label,
      dependents?.functions ?? [],
      rename ? undefined : original.table,
    ),
    ...columnCopy.dependents.contract,
  };
}
