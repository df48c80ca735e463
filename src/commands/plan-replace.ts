import { InputError } from '../errors.js';
import { changeColumns } from '../spec/change-columns.js';
import { displayColumn } from '../spec/identifiers.js';
import { appendChange } from '../spec/edit.js';
import { removeChange, replaceChange } from '../spec/edit-lifecycle.js';
import type { LoadedPhases } from '../spec/load.js';
import { allChanges, type Change, type ColumnRef } from '../spec/types.js';
import { CHANGE_ID_PATTERN, MAX_CHANGE_ID_LENGTH } from '../spec/schema.js';
import { changeNames, refuseControlCharacters } from '../spec/name-guard.js';
import { savePhasesFile } from '../spec/save.js';
import { refuseTakenNames } from '../catalog/derived-names.js';
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

/**
 * The base a new change is planned on: its id checked (a change id, not taken by another change, archived ones
 * included), and the change `--replace` corrects taken out (planBase).
 */
export function planBaseFor(
  loaded: LoadedPhases,
  options: { replace?: boolean; id: string; source: ColumnRef },
): PlanBase {
  const { id } = options;
  if (!CHANGE_ID_PATTERN.test(id) || id.length > MAX_CHANGE_ID_LENGTH) {
    throw new InputError(`--id "${id}" is not a change id`, {
      hint: `use lower-case letters, digits and "-", starting with a letter or digit, at most ${MAX_CHANGE_ID_LENGTH} characters`,
    });
  }
  const base = planBase(loaded, options);
  if (allChanges(base.checked.spec).some((change) => change.id === id)) {
    throw new InputError(`phases.yaml already has a change "${id}"`, {
      hint: 'pass another id with --id, or --replace to correct it while it is not advanced',
    });
  }
  return base;
}

/**
 * Refuses the new change while a change in flight already changes a column `taken` accepts (its source or target);
 * `hint` says what to do while that change is not through phase 3 (once it is, the hint says to archive it).
 */
export function refuseColumnInFlight(base: PlanBase, taken: (column: ColumnRef) => boolean, hint: string): void {
  const conflicting = base.checked.spec.changes.find((change) => Object.values(changeColumns(change)).some(taken));
  if (!conflicting) return;
  const { source, target } = changeColumns(conflicting);
  const phase3 = conflicting.releases.phase3;
  throw new InputError(
    `change "${conflicting.id}" already changes ${displayColumn(source.schema, source.table, source.column)} → ${displayColumn(target.schema, target.table, target.column)}`,
    {
      // Through phase 3 already: advancing does not free the columns, archiving does.
      hint:
        phase3 === undefined
          ? hint
          : `its phase 3 is in release ${phase3}: once that release is applied everywhere, \`phasectl archive ${conflicting.id}\` retires it and frees its columns; then plan this change again`,
    },
  );
}

/**
 * Writes the planned change into phases.yaml (appended, or in the place of the one `--replace` corrects), once its
 * names are printable (they go into comments of the generated SQL and JavaScript: U+2028 would end a // comment) and,
 * with a database, every name phase 1 will create is free (IF NOT EXISTS would silently skip a copy).
 */
export async function savePlannedChange(
  loaded: LoadedPhases,
  base: PlanBase,
  change: Change,
  databaseUrl: string | undefined,
): Promise<void> {
  refuseControlCharacters(changeNames(change), `plan ${change.id}`);
  if (databaseUrl) await refuseTakenNames(databaseUrl, change);
  await savePhasesFile(withPlannedChange(loaded, base, change));
}
