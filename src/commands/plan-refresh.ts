import { readColumnDependents } from '../catalog/dependent-facts.js';
import { connect } from '../db/connect.js';
import { renameDependents } from '../dependents/views.js';
import { InputError } from '../errors.js';
import { projectPaths } from '../project.js';
import { reparse } from '../spec/edit.js';
import { replaceDependents } from '../spec/edit-dependents.js';
import { loadPhasesFile } from '../spec/load.js';
import { savePhasesFile } from '../spec/save.js';

export interface PlanRefreshOptions {
  /** Project root holding phases.yaml (default: the current directory). */
  projectDir?: string;
  changeId: string;
  databaseUrl?: string;
}

export interface PlanRefreshResult {
  file: string;
  /** One line per view or generated column now recorded. */
  recorded: string[];
}

/**
 * Reads again from the database the views and virtual generated columns that read a rename's old column and
 * records them in phases.yaml (after someone changed a view since `plan`; phase 3's guard refuses until then).
 * Refuses before writing anything when one of them cannot be re-pointed. Run `phasectl generate` afterwards.
 */
export async function planRefresh(options: PlanRefreshOptions): Promise<PlanRefreshResult> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadPhasesFile(paths.phasesFile);
  const change = loaded.spec.changes.find((candidate) => candidate.id === options.changeId);
  if (!change)
    throw new InputError(`no change "${options.changeId}" in ${paths.phasesFile}`, {
      hint: `changes: ${loaded.spec.changes.map((c) => c.id).join(', ') || 'none'}`,
    });
  if (change.kind !== 'rename')
    throw new InputError(`change "${change.id}" is a move; only a rename records views`, {
      hint: 'a move refuses views at plan',
    });
  if (!options.databaseUrl)
    throw new InputError('plan refresh reads the database', { hint: 'pass --database-url (or set DATABASE_URL)' });
  const connection = await connect(options.databaseUrl, { max: 1, applicationName: 'phasectl plan refresh' });
  try {
    const { schema, table, from } = change.rename;
    const facts = await readColumnDependents(connection.db, { schema, table, column: from });
    renameDependents({ ...change, column: { ...change.column, ...facts } }, `change ${change.id}`);
    const updated = replaceDependents(loaded, change.id, facts, reparse);
    await savePhasesFile(updated);
    return {
      file: paths.phasesFile,
      recorded: [
        ...(facts.views ?? []).map((view) => `view ${view.schema}.${view.name}`),
        ...(facts.generated ?? []).map((column) => `generated column ${column.name}`),
      ],
    };
  } finally {
    await connection.close();
  }
}
