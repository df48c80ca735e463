import { InputError } from '../errors.js';
import { projectPaths } from '../project.js';
import { liveChangeIndex, removeChange } from '../spec/edit-lifecycle.js';
import type { LoadedPhases } from '../spec/load.js';
import { loadPhasesFile } from '../spec/load.js';
import { savePhasesFile } from '../spec/save.js';
import type { Change } from '../spec/types.js';

export interface UnplanOptions {
  /** Project root (default: the current directory). */
  projectDir?: string;
  changeId: string;
}

export interface UnplanResult {
  change: Change;
  file: string;
}

/**
 * Removes a planned change that has not been advanced (no phase in a release, so no file was generated for it)
 * from phases.yaml. Once a phase is in a release it is refused (exit 2): its files may have shipped.
 */
export async function unplan(options: UnplanOptions): Promise<UnplanResult> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadPhasesFile(paths.phasesFile);
  const change = requireNotAdvanced(loaded, options.changeId, 'unplan');
  await savePhasesFile(removeChange(loaded, change.id));
  return { change, file: paths.phasesFile };
}

/**
 * The live change `changeId`, refused (InputError) once any phase of it is in a release: `unplan` and
 * `plan --replace` only correct what no release holds yet. The message says what to do instead.
 */
export function requireNotAdvanced(loaded: LoadedPhases, changeId: string, what: string): Change {
  const index = liveChangeIndex(loaded, changeId);
  const change = loaded.spec.changes[index]!;
  const recorded = (['phase1', 'phase2', 'phase3'] as const).filter((key) => change.releases[key] !== undefined);
  if (recorded.length === 0) return change;
  const first = change.releases.phase1 ?? change.releases[recorded[0]!]!;
  const listed = recorded.map((key) => `${key} in ${change.releases[key]}`).join(', ');
  const position = loaded.locate(['changes', index, 'releases']);
  throw new InputError(
    `${what}: change "${change.id}" has been advanced (${listed}); only a change no release holds yet can be corrected`,
    {
      location: { file: loaded.file, line: position?.line, column: position?.column },
      hint:
        `if release ${first} has not been committed or shipped anywhere, undo the advance with git (\`git checkout -- phases.yaml db/\`) and try again; ` +
        `once it shipped, its files are part of history: roll the databases back (\`phasectl rollback --release <newest release of it>\`, newest first), ` +
        'then plan a new change that reverses it, or finish it and plan a new change on the new column',
    },
  );
}
