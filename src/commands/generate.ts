import {
  compareGeneratedFiles,
  projectFileReader,
  removeSupersededMigrations,
  writeGeneratedFiles,
} from '../generate/write.js';
import { generatedFiles, type GeneratedFile } from '../generate/files.js';
import { projectGenerationSettings } from '../generate/project-settings.js';
import { keptSummary } from '../generate/version-judge.js';
import { projectPaths } from '../project.js';
import { loadCheckedPhases } from './load-project.js';

export interface GenerateOptions {
  /** Project root holding phases.yaml and db/ (default: the current directory). */
  projectDir?: string;
  /** Templates overriding phasectl's own (and phases.yaml's `migrations.templates`). */
  templatesDir?: string;
  /**
   * `generate` only: also rewrite the files another phasectl version wrote, which are otherwise kept as written
   * (they may have shipped). Safe only while no database has applied them.
   */
  regenerateShipped?: boolean;
}

/** Files written by another phasectl version that stay as written: one note per version, one warning per older file. */
export interface KeptFiles {
  notes: string[];
  warnings: { path: string; message: string }[];
}

/** A file on disk that may not stay as it is, and why. */
export interface RefusedFile {
  path: string;
  message: string;
  fix: string;
}

/**
 * Re-renders every generated file from phases.yaml and writes those that differ. `rewritten`: the files written over
 * a text the checks would refuse, e.g. a file of a released phase generated from another record of its change
 * (phases.yaml was edited after the release): if a database applied the old text, `migrate` refuses the new one. A file another phasectl version
 * wrote is kept as written while its header's digests hold (docs/internals.md, "Migration files"), unless
 * `regenerateShipped`. `removed`: migration files of a phase phases.yaml still generates, under names it no longer
 * generates (its steps numbered anew after `plan refresh`), deleted (removeSupersededMigrations).
 *
 * @example
 * ```ts
 * import { generate } from 'phasectl';
 *
 * const { written } = await generate({ projectDir: '.' });
 * ```
 */
export async function generate(
  options: GenerateOptions = {},
): Promise<{ written: string[]; unchanged: string[]; removed: string[]; kept: KeptFiles; rewritten: RefusedFile[] }> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadCheckedPhases(paths.root);
  const files = generatedFiles(loaded.spec, {
    settings: projectGenerationSettings(loaded, paths.root, options.templatesDir),
    existing: projectFileReader(paths.root),
    regenerateShipped: options.regenerateShipped,
  });
  const { written, unchanged } = await writeGeneratedFiles(paths.root, files);
  const removed = await removeSupersededMigrations(paths.root, files);
  return {
    written,
    unchanged,
    removed,
    kept: options.regenerateShipped ? { notes: [], warnings: [] } : keptSummary(files),
    rewritten: refusedFiles(files, written),
  };
}

/**
 * Compares the files on disk with what phasectl generates; writes nothing. Files another phasectl version wrote
 * count as clean while their header's digests hold (`kept` says which).
 *
 * @example
 * ```ts
 * import { checkGenerated } from 'phasectl';
 *
 * const { clean, changed } = await checkGenerated({ projectDir: '.' });
 * if (!clean) throw new Error(`stale generated files: ${changed.join(', ')}`);
 * ```
 */
export async function checkGenerated(options: GenerateOptions = {}): Promise<{
  changed: string[];
  missing: string[];
  unexpected: string[];
  clean: boolean;
  kept: KeptFiles;
  refused: RefusedFile[];
}> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadCheckedPhases(paths.root);
  const files = generatedFiles(loaded.spec, {
    settings: projectGenerationSettings(loaded, paths.root, options.templatesDir),
    existing: projectFileReader(paths.root),
  });
  const { changed, missing, unexpected } = await compareGeneratedFiles(paths.root, files);
  return {
    changed,
    missing,
    unexpected,
    clean: changed.length + missing.length + unexpected.length === 0,
    kept: keptSummary(files),
    refused: refusedFiles(files, changed),
  };
}

function refusedFiles(files: GeneratedFile[], changed: string[]): RefusedFile[] {
  const differing = new Set(changed);
  return files.flatMap((file) =>
    differing.has(file.path) && file.judgement?.kind === 'refused'
      ? [{ path: file.path, message: file.judgement.message, fix: file.judgement.fix }]
      : [],
  );
}
