import { InputError } from '../errors.js';
import { changeColumns } from '../spec/change-columns.js';
import { displayColumn } from '../spec/identifiers.js';
import { appendChange } from '../spec/edit.js';
import { removeChange, replaceChange } from '../spec/edit-lifecycle.js';
import type { LoadedPhases } from '../spec/load.js';
import type { Change, ColumnRef } from '../spec/types.js';
import { requireNotAdvanced } from './unplan.js';

/** What `plan` checks the new change against, and the change `--replace` corrects (if any). */
export interface PlanBase {
  /** phases.yaml without the replaced change: ids and columns are checked against this. */
  checked: LoadedPhases;
  replacing?: string;
}

/**
 * `plan … --replace`: the change to correct is the live one with the same id, else the one that changes the
 * same source column; it must not have been advanced (else an InputError that says to roll back instead).
 */
export function planBase(
  loaded: LoadedPhases,
  options: { replace?: boolean; id: string; source: ColumnRef },
): PlanBase {
  if (!options.replace) return { checked: loaded };
  const { schema, table, column } = options.source;
  const found =
    loaded.spec.changes.find((change) => change.id === options.id) ??
    loaded.spec.changes.find((change) => {
      const source = changeColumns(change).source;
      return source.schema === schema && source.table === table && source.column === column;
    });
  if (!found) {
    throw new InputError(
      `--replace: no change "${options.id}" and no change of ${displayColumn(schema, table, column)} in phases.yaml to replace`,
      {
        location: { file: loaded.file },
        hint: 'leave out --replace to add a new change',
      },
    );
  }
  requireNotAdvanced(loaded, found.id, 'plan --replace');
  return { checked: removeChange(loaded, found.id), replacing: found.id };
}

/** phases.yaml with the planned change added, or put in the place of the one it replaces. */
export function withPlannedChange(loaded: LoadedPhases, base: PlanBase, change: Change): LoadedPhases {
  return base.replacing === undefined ? appendChange(loaded, change) : replaceChange(loaded, base.replacing, change);
}
