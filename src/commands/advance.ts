import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { generatedFiles } from '../generate/files.js';
import { projectGenerationSettings } from '../generate/project-settings.js';
import { projectFileReader, refuseLinksOnPaths, writeGeneratedFiles } from '../generate/write.js';
import { projectPaths } from '../project.js';
import { planAdvance, type PhaseMove } from '../releases/advance.js';
import { readMigrationFiles } from '../runner/migration-files.js';
import { requireGeneratedMigrations } from '../runner/shipped-files.js';
import { recordPhaseRelease } from '../spec/edit.js';
import { savePhasesFile } from '../spec/save.js';
import { MAX_RELEASE_NAME_LENGTH, RELEASE_NAME_PATTERN } from '../spec/schema.js';
import { loadCheckedPhases } from './load-project.js';

export interface AdvanceOptions {
  /** Project root holding phases.yaml and db/ (default: the current directory). */
  projectDir?: string;
  /** Default: $PHASECTL_RELEASE, else the `version` of package.json in the project root. */
  release?: string;
  changeId?: string;
  /** Accept a new release name that does not sort after the latest one (release names that do not sort). */
  forceOrder?: boolean;
}

export type AdvanceResult =
  | { kind: 'nothing'; release: string; message: string }
  | { kind: 'advanced'; release: string; moves: PhaseMove[]; written: string[]; unchanged: string[] };

/**
 * Moves every in-flight change (or one) a phase forward into `release`: records it in phases.yaml
 * and writes the generated files. Refusals (release rules) throw before anything is written.
 *
 * @example
 * ```ts
 * import { advance } from 'phasectl';
 *
 * const result = await advance({ projectDir: '.', release: '1.4.0' });
 * if (result.kind === 'advanced') console.log(result.written); // db/migrations/001_1.4.0_….up.sql, …
 * ```
 */
export async function advance(options: AdvanceOptions = {}): Promise<AdvanceResult> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadCheckedPhases(paths.root);
  const release = options.release ?? process.env.PHASECTL_RELEASE ?? (await packageVersion(paths.root));
  if (!release) {
    throw new InputError('no release given', {
      hint: 'pass --release <name> (e.g. --release 1.4.0), set PHASECTL_RELEASE, or run where package.json has a version',
    });
  }
  if (!RELEASE_NAME_PATTERN.test(release) || release.length > MAX_RELEASE_NAME_LENGTH) {
    throw new InputError(`"${release.length > 80 ? `${release.slice(0, 80)}…` : release}" is not a release name`, {
      hint: `use letters, digits, ".", "_" and "-", starting with a letter or digit, at most ${MAX_RELEASE_NAME_LENGTH} characters, e.g. 1.4.0`,
    });
  }
  // What shipped is the files: after a hand edit of phases.yaml, advance would rewrite them. Refused as migrate does
  // (a missing file is written anew, as generate would).
  requireGeneratedMigrations(loaded, await readMigrationFiles(paths.migrationsDir), { missingWritten: true });
  const outcome = planAdvance(loaded.spec, release, { changeId: options.changeId, forceOrder: options.forceOrder });
  if (outcome.kind === 'nothing') return { kind: 'nothing', release, message: outcome.message };
  if (outcome.kind === 'refused') {
    const index = loaded.spec.changes.findIndex((change) => change.id === outcome.changeId);
    const position = index >= 0 ? loaded.locate(['changes', index, 'releases']) : undefined;
    throw new InputError(outcome.message, {
      hint: outcome.hint,
      location: { file: loaded.file, line: position?.line, column: position?.column },
    });
  }
  let updated = loaded;
  for (const move of outcome.moves) updated = recordPhaseRelease(updated, move.changeId, move.to, release);
  // Render first: if generation fails, phases.yaml stays as it was.
  // Files on disk that another phasectl version wrote stay as written; the new phase's files are this version's.
  const files = generatedFiles(updated.spec, {
    settings: projectGenerationSettings(updated, paths.root),
    existing: projectFileReader(paths.root),
  });
  await refuseLinksOnPaths(paths.root, files);
  await savePhasesFile(updated);
  const { written, unchanged } = await writeGeneratedFiles(paths.root, files);
  return { kind: 'advanced', release, moves: outcome.moves, written, unchanged };
}

async function packageVersion(root: string): Promise<string | undefined> {
  try {
    const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof manifest.version === 'string' ? manifest.version : undefined;
  } catch {
    return undefined;
  }
}
