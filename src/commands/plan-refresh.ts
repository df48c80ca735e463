import { readChangeDependents } from '../catalog/dependents-record.js';
import { connect } from '../db/connect.js';
import { dependentSlots } from '../dependents/dependent-slots.js';
import { refuseSharedDependents } from '../dependents/shared-records.js';
import { InputError } from '../errors.js';
import { projectPaths } from '../project.js';
import { reparse } from '../spec/edit.js';
import { replaceDependents } from '../spec/edit-dependents.js';
import { loadPhasesFile } from '../spec/load.js';
import { savePhasesFile } from '../spec/save.js';
import { currentPhase, type Change, type DependentFacts, type DependentFunction } from '../spec/types.js';

export interface PlanRefreshOptions {
  /** Project root holding phases.yaml (default: the current directory). */
  projectDir?: string;
  changeId: string;
  databaseUrl?: string;
}

export interface PlanRefreshResult {
  file: string;
  /** One line per object now recorded (views, generated columns, foreign keys, functions, triggers). */
  recorded: string[];
  /** Plan's notes about them (functions to change before phase 3, what is carried), one line each. */
  notes: string[];
}

/**
 * Reads again from the database everything a change records under `dependents:` (views, virtual generated columns,
 * foreign keys, functions, triggers) and records it in phases.yaml, e.g. after someone changed a view since `plan`
 * (phase 3's guard refuses until then). Refuses before writing anything when one of them cannot be carried, when
 * another change in flight records the same view or trigger, or when the foreign keys changed after phase 1 was
 * advanced (phase 1 copies them). Moves `views`/`generated` of older files from `column:` to `dependents:`.
 * Run `phasectl generate` afterwards.
 */
export async function planRefresh(options: PlanRefreshOptions): Promise<PlanRefreshResult> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadPhasesFile(paths.phasesFile);
  const change = loaded.spec.changes.find((candidate) => candidate.id === options.changeId);
  if (!change)
    throw new InputError(`no change "${options.changeId}" in ${paths.phasesFile}`, {
      hint: `changes: ${loaded.spec.changes.map((c) => c.id).join(', ') || 'none'}`,
    });
  if (!options.databaseUrl)
    throw new InputError('plan refresh reads the database', { hint: 'pass --database-url (or set DATABASE_URL)' });
  const connection = await connect(options.databaseUrl, { max: 1, applicationName: 'phasectl plan refresh' });
  try {
    const read = await readChangeDependents(connection.db, change);
    const notes = read.notes;
    refuseChangedForeignKeys(change, read.dependents);
    const dependents = keepPhaseOneGuard(change, read.dependents);
    const refreshed = { ...change, dependents } as Change;
    // Throws InputError for a record phase 3 could not carry (a view the parser cannot re-point, …).
    dependentSlots(refreshed, `change ${change.id}`);
    refuseSharedDependents(refreshed, loaded.spec.changes);
    const updated = replaceDependents(loaded, change.id, dependents, reparse);
    await savePhasesFile(updated);
    return { file: paths.phasesFile, recorded: describeRecord(dependents), notes };
  } finally {
    await connection.close();
  }
}

/**
 * Phase 1 copies the referencing foreign keys onto the new column: once it is advanced (its files generated, maybe
 * shipped), a changed set would rewrite phase 1 and let phase 3 drop a key that was never copied.
 */
function refuseChangedForeignKeys(change: Change, dependents: DependentFacts): void {
  if (currentPhase(change) === 0) return;
  const label = (keys: DependentFacts['foreignKeys']) =>
    keys.map((key) => `${key.name} on ${key.schema}.${key.table}: ${key.definition}`).sort();
  const before = label(change.dependents?.foreignKeys ?? []);
  const now = label(dependents.foreignKeys);
  if (JSON.stringify(before) === JSON.stringify(now)) return;
  const added = now.filter((key) => !before.includes(key));
  const removed = before.filter((key) => !now.includes(key));
  throw new InputError(
    `change "${change.id}": the foreign keys referencing its column changed since plan (${[
      ...added.map((key) => `new: ${key}`),
      ...removed.map((key) => `gone: ${key}`),
    ].join('; ')}), but phase 1, which copies them, is already advanced; nothing was written`,
    {
      hint: 'put the keys back as they were at plan (drop a new one, re-create it on the new column after phase 3), then refresh again',
    },
  );
}

/**
 * Phase 1's expand refuses while a function recorded with `wholeRow` is unchanged: once phase 1 is advanced (its
 * files generated, maybe applied), those records stay exactly as they were, so phase 1's files are not rewritten
 * (`migrate` refuses a rewritten applied file). A function changed since keeps its old record beside the new one
 * (the old fingerprint matches nothing any more; phase 3 reads the new one). Pure.
 */
export function keepPhaseOneGuard(change: Change, dependents: DependentFacts): DependentFacts {
  if (currentPhase(change) === 0 || dependents.functions === undefined) return dependents;
  const before = (change.dependents?.functions ?? []).filter((fn) => fn.wholeRow !== undefined);
  const same = (a: DependentFunction, b: DependentFunction) => a.name === b.name && a.fingerprint === b.fingerprint;
  const functions = dependents.functions.map(({ wholeRow: _ignored, ...fn }) => {
    const old = before.find((candidate) => same(candidate, fn));
    return old ? { ...fn, wholeRow: old.wholeRow } : fn;
  });
  const kept = before
    .filter((old) => !functions.some((fn) => same(old, fn)))
    .map(({ name, fingerprint, wholeRow }) => ({ name, fingerprint, namesColumn: false, wholeRow }));
  return {
    ...dependents,
    functions: [...functions, ...kept].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

function describeRecord(dependents: DependentFacts): string[] {
  return [
    ...(dependents.views ?? []).map((view) => `view ${view.schema}.${view.name}`),
    ...(dependents.generated ?? []).map((column) => `generated column ${column.name}`),
    ...dependents.foreignKeys.map((key) => `foreign key ${key.name} on ${key.schema}.${key.table}`),
    ...(dependents.functions ?? [])
      .filter((fn) => fn.namesColumn || fn.byPosition !== undefined || fn.wholeRow !== undefined)
      .map((fn) => `function ${fn.name}`),
    ...dependents.triggers.map((trigger) => `trigger ${trigger.name}`),
  ];
}
