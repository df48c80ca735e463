import { compareGeneratedFiles, writeGeneratedFiles } from '../generate/write.js';
import { generatedFiles } from '../generate/files.js';
import { projectGenerationSettings } from '../generate/project-settings.js';
import { projectPaths } from '../project.js';
import { loadCheckedPhases } from './load-project.js';

export interface GenerateOptions {
  /** Project root holding phases.yaml and db/ (default: the current directory). */
  projectDir?: string;
  /** Templates overriding phasectl's own (and phases.yaml's `migrations.templates`). */
  templatesDir?: string;
}

/**
 * Re-renders every generated file from phases.yaml and writes those that differ.
 *
 * @example
 * ```ts
 * import { generate } from 'phasectl';
 *
 * const { written } = await generate({ projectDir: '.' });
 * ```
 */
export async function generate(options: GenerateOptions = {}): Promise<{ written: string[]; unchanged: string[] }> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadCheckedPhases(paths.root);
  const files = generatedFiles(loaded.spec, {
    settings: projectGenerationSettings(loaded, paths.root, options.templatesDir),
  });
  return writeGeneratedFiles(paths.root, files);
}

/**
 * Compares the files on disk with what phasectl generates; writes nothing.
 *
 * @example
 * ```ts
 * import { checkGenerated } from 'phasectl';
 *
 * const { clean, changed } = await checkGenerated({ projectDir: '.' });
 * if (!clean) throw new Error(`stale generated files: ${changed.join(', ')}`);
 * ```
 */
export async function checkGenerated(
  options: GenerateOptions = {},
): Promise<{ changed: string[]; missing: string[]; unexpected: string[]; clean: boolean }> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadCheckedPhases(paths.root);
  const files = generatedFiles(loaded.spec, {
    settings: projectGenerationSettings(loaded, paths.root, options.templatesDir),
  });
  const { changed, missing, unexpected } = await compareGeneratedFiles(paths.root, files);
  return { changed, missing, unexpected, clean: changed.length + missing.length + unexpected.length === 0 };
}
