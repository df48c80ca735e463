import { dirname } from 'node:path';
import { InputError } from '../errors.js';
import { generatedFiles, type GeneratedFile } from '../generate/files.js';
import { keptSummary } from '../generate/version-judge.js';
import { parseHeader } from '../migration-file/header.js';
import { projectGenerationSettings } from '../generate/project-settings.js';
import type { LoadedPhases } from '../spec/load.js';
import { allChanges } from '../spec/types.js';
import type { MigrationFile } from './migration-files.js';

const MIGRATIONS_PREFIX = 'db/migrations/';
/** At most this many names in the message; the rest are counted. */
const LISTED = 10;
/** The inputs of the last check that found phases.yaml and the files agreeing (same inputs, same answer). */
let lastAgreed: { inputs: string; kept: KeptFiles } | undefined;

/** Files another phasectl version wrote, accepted by their digests: one note per version, one warning per older file. */
export type KeptFiles = ReturnType<typeof keptSummary>;

/**
 * Refuses (exit 2, before any database work) when phases.yaml no longer generates the migration files of
 * its changes: `generate --check` restricted to db/migrations and to the changes phases.yaml declares (files
 * of other changes, and files without a phasectl header, are the team's own). A hand edit of phases.yaml
 * after `advance` (e.g. `from` and `to` swapped) changes nothing that runs, so it is refused instead of
 * being silently ignored, or half-applied by anything still reading phases.yaml. Files another phasectl version
 * wrote pass while their header's digests hold; they are returned, for the caller to report. `missingWritten`: the
 * caller (advance) writes missing files itself, so only files on disk that phases.yaml no longer generates count.
 */
export function requireGeneratedMigrations(
  loaded: LoadedPhases,
  files: MigrationFile[],
  options: { missingWritten?: boolean } = {},
): KeptFiles {
  // A fleet run checks the same project once per database: generating every file again each time is pure CPU.
  const inputs = `${options.missingWritten === true}\u0000${loaded.file}\u0000${loaded.text}\u0000${files.map((file) => `${file.name}\u0000${file.checksum}`).join('\u0000')}`;
  if (lastAgreed?.inputs === inputs) return lastAgreed.kept;
  const changeIds = new Set(allChanges(loaded.spec).map((change) => change.id));
  const expected = new Map<string, GeneratedFile>();
  // With the project's own templates and timeouts (phases.yaml `migrations:`), as generate wrote them; a file
  // another phasectl version wrote is judged by its header's digests (src/generate/version-judge.ts).
  const settings = projectGenerationSettings(loaded, dirname(loaded.file));
  const byName = new Map(files.map((file) => [file.name, file.content]));
  const existing = (path: string) =>
    path.startsWith(MIGRATIONS_PREFIX) ? byName.get(path.slice(MIGRATIONS_PREFIX.length)) : undefined;
  for (const file of generatedFiles(loaded.spec, { settings, existing })) {
    if (!file.path.startsWith(MIGRATIONS_PREFIX)) continue;
    const changeId = parseHeader(file.content)?.changeId;
    if (changeId !== undefined && changeIds.has(changeId))
      expected.set(file.path.slice(MIGRATIONS_PREFIX.length), file);
  }
  const problems: string[] = [];
  const onDisk = new Set<string>();
  for (const file of files) {
    if (!file.header || !changeIds.has(file.header.changeId)) continue;
    onDisk.add(file.name);
    const generated = expected.get(file.name);
    if (generated === undefined) problems.push(`${file.name} (phases.yaml no longer generates it)`);
    else if (generated.content !== file.content)
      problems.push(
        `${file.name} (${generated.judgement?.kind === 'refused' ? generated.judgement.message : 'differs from what phases.yaml generates'})`,
      );
  }
  if (!options.missingWritten)
    for (const name of expected.keys()) if (!onDisk.has(name)) problems.push(`${name} (missing)`);
  if (problems.length === 0) {
    const kept = keptSummary([...expected.values()]);
    lastAgreed = { inputs, kept };
    return kept;
  }
  const listed = problems
    .slice(0, LISTED)
    .map((line) => `\n  ${line}`)
    .join('');
  const more = problems.length > LISTED ? `\n  … and ${problems.length - LISTED} more` : '';
  throw new InputError(
    `phases.yaml and the migration files in db/migrations disagree; nothing was run:${listed}${more}`,
    {
      location: { file: loaded.file },
      hint:
        'the runner only runs the files, so an edit of phases.yaml after `phasectl advance` has no effect on them. ' +
        'If phases.yaml was edited by hand, restore it (`git diff -- phases.yaml`, `git checkout -- phases.yaml`); ' +
        'to change a phase that is already applied, roll it back first (`phasectl rollback --release <release>`), then edit, `phasectl generate` and migrate; ' +
        'if the files are stale (not yet shipped anywhere), run `phasectl generate`. `phasectl generate --check` lists the same files',
    },
  );
}

/** `requireGeneratedMigrations`'s refusal as text, for a read-only report (status); undefined when they agree. */
export function generatedMigrationsDisagreement(loaded: LoadedPhases, files: MigrationFile[]): string | undefined {
  try {
    requireGeneratedMigrations(loaded, files);
    return undefined;
  } catch (error) {
    if (error instanceof InputError) return error.message.replace('; nothing was run:', ':');
    throw error;
  }
}
