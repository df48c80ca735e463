/**
 * Two renames in flight must not record the same view or trigger. Each change re-creates its records in phase 3 from
 * the definition it read at plan: the first contract re-points the view (or trigger), so the second one's guard finds
 * it changed and refuses in the middle of a deploy — and re-pointed from its stale record it would read the first
 * change's dropped column again. Refused at plan instead, naming the object and the other change. Pure.
 */
import { InputError } from '../errors.js';
import { changeColumns } from '../spec/change-columns.js';
import { currentPhase, type Change } from '../spec/types.js';

/** The views (`view s.v`) and triggers (`trigger t on s.t`) a change records, as comparable labels. */
function recordedObjects(change: Change): string[] {
  const { schema, table } = changeColumns(change).source;
  return [
    ...(change.dependents?.views ?? []).map((view) => `view ${view.schema}.${view.name}`),
    ...(change.dependents?.triggers ?? []).map((trigger) => `trigger ${trigger.name} on ${schema}.${table}`),
  ];
}

/**
 * Throws InputError when `change` records a view or trigger that another change before its phase 3 records too.
 * A change already advanced to phase 3 does not count: once it is applied, plan reads the object re-pointed.
 */
export function refuseSharedDependents(change: Change, others: readonly Change[]): void {
  const mine = new Set(recordedObjects(change));
  if (mine.size === 0) return;
  for (const other of others) {
    if (other.kind !== 'rename' || other.id === change.id || currentPhase(other) === 3) continue;
    const shared = recordedObjects(other).filter((object) => mine.has(object));
    if (shared.length === 0) continue;
    throw new InputError(
      `${shared.join(', ')} also read(s) ${other.rename.from}, renamed by change "${other.id}": both changes would re-create it in phase 3 from what they read at plan, and the second would fail`,
      {
        hint: `plan this rename once "${other.id}" has had its phase 3 (the object then reads ${other.rename.to}), or drop the object and re-create it after both changes; nothing was written`,
      },
    );
  }
}

/**
 * The indexes and constraints a change copies in phase 1 (its column's, and other tables' foreign keys pointing at it),
 * as comparable labels: one that also names another in-flight change's column would be copied by each change from the
 * definition it read at plan, each copy naming the other's old column, so each phase 3 refuses and a rollback of both
 * cannot rebuild it (the other column is gone).
 */
function copiedObjects(change: Change): string[] {
  const { schema, table } = changeColumns(change).source;
  return [
    ...change.column.indexes.map((index) => `index ${schema}.${index.name}`),
    ...change.column.constraints.map((constraint) => `constraint ${constraint.name} on ${schema}.${table}`),
    ...(change.dependents?.foreignKeys ?? []).map((key) => `constraint ${key.name} on ${key.schema}.${key.table}`),
  ];
}

/** Throws InputError when `change` copies an index or constraint another rename before its phase 3 copies too. */
export function refuseSharedCopies(change: Change, others: readonly Change[]): void {
  const mine = new Set(copiedObjects(change));
  if (mine.size === 0) return;
  for (const other of others) {
    if (other.kind !== 'rename' || other.id === change.id || currentPhase(other) === 3) continue;
    const shared = [...new Set(copiedObjects(other).filter((object) => mine.has(object)))];
    if (shared.length === 0) continue;
    throw new InputError(
      `${shared.join(', ')} also name(s) ${other.rename.from}, renamed by change "${other.id}": each change would copy it in phase 1 naming the other's old column, so each phase 3 would refuse to drop its column`,
      {
        hint: `plan this rename once "${other.id}" has had its phase 3 (then it names ${other.rename.to}), or drop the object and re-create it after both changes; nothing was written`,
      },
    );
  }
}
