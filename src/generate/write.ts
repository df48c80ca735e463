import { readFileSync } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { GeneratedFile } from './files.js';
import { FUNCTION_FILE_NAME, HEADER_PREFIX, migrationFileNamePattern, parseHeader } from '../migration-file/header.js';
import { refuseLinks, writeProjectFile } from '../files/no-follow.js';
import { readProvenance } from '../migration-file/provenance.js';

/** The folders phasectl generates into, relative to the project root. */
export const generatedFolders = ['db/migrations', 'db/functions', 'db/triggers'] as const;

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * Reads the project's files for `generatedFiles({ existing })`: the text at a relative path, undefined when absent.
 * Synchronous, as generation is: a project holds a few hundred small generated files.
 */
export function projectFileReader(root: string): (path: string) => string | undefined {
  return (path) => {
    try {
      return readFileSync(join(root, path), 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw error;
    }
  };
}

/** Refuses (exit 2, naming it) a symbolic link on the path of any of `files`: checked before anything is written. */
export async function refuseLinksOnPaths(root: string, files: GeneratedFile[]): Promise<void> {
  for (const file of files) await refuseLinks(root, file.path);
}

/**
 * Writes the files whose content differs from what is on disk (creating folders); never deletes, never follows
 * a symbolic link (src/generate/no-follow.ts). Returns the relative paths written and those already up to date.
 */
export async function writeGeneratedFiles(
  root: string,
  files: GeneratedFile[],
): Promise<{ written: string[]; unchanged: string[] }> {
  await refuseLinksOnPaths(root, files);
  const written: string[] = [];
  const unchanged: string[] = [];
  for (const file of files) {
    if ((await readIfExists(join(root, file.path))) === file.content) {
      unchanged.push(file.path);
      continue;
    }
    await writeProjectFile(root, file.path, file.content);
    written.push(file.path);
  }
  return { written, unchanged };
}

/** True for a file phasectl would have generated: it carries a phasectl header or is named like one. */
function looksGenerated(folder: string, name: string, content: string): boolean {
  if (content.startsWith(HEADER_PREFIX)) return true;
  if (folder === 'db/migrations') return migrationFileNamePattern.test(name);
  if (folder === 'db/functions') return FUNCTION_FILE_NAME.test(name);
  return false;
}

/**
 * Compares the project with the generated set: `changed` (content differs), `missing` (not on disk),
 * `unexpected` (generated-looking files in db/migrations, db/functions, db/triggers that phases.yaml does not produce).
 * Paths are relative, sorted.
 */
export async function compareGeneratedFiles(
  root: string,
  files: GeneratedFile[],
): Promise<{ changed: string[]; missing: string[]; unexpected: string[] }> {
  const changed: string[] = [];
  const missing: string[] = [];
  const unexpected: string[] = [];
  const expected = new Set(files.map((file) => file.path));
  for (const file of files) {
    const onDisk = await readIfExists(join(root, file.path));
    if (onDisk === undefined) missing.push(file.path);
    else if (onDisk !== file.content) changed.push(file.path);
  }
  for (const folder of generatedFolders) {
    let names: string[];
    try {
      names = await readdir(join(root, folder));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const name of names.filter((entry) => entry.endsWith('.sql')).sort()) {
      const path = `${folder}/${name}`;
      if (expected.has(path)) continue;
      const content = (await readIfExists(join(root, path))) ?? '';
      if (looksGenerated(folder, name, content)) unexpected.push(path);
    }
  }
  return { changed: changed.sort(), missing: missing.sort(), unexpected };
}

/** The phase of a change in a release a migration file belongs to, by its header. */
const phaseKey = (header: { changeId: string; phase: number; direction: string; release: string }) =>
  `${header.changeId}\u0000${header.phase}\u0000${header.direction}\u0000${header.release}`;

/**
 * Removes the migration files that phases.yaml no longer generates although it still generates their phase: same
 * change, phase, direction and release in the header, another name. That happens when a change's record is refreshed
 * after its phase was advanced (`plan refresh` before phase 3 runs): a down step is added or dropped (restore-views,
 * restore-triggers, …) and the steps after it are numbered anew. Left on disk, the old file would make `migrate` and
 * `generate --check` refuse, and no command would remove it. Files of other phases, other changes, and files without
 * a phasectl header (the team's own) are never touched, nor a file edited since phasectl wrote it (its header's digest
 * no longer holds: a hand-made step copied from a generated file, a hotfix). Returns the relative paths removed, sorted.
 */
export async function removeSupersededMigrations(root: string, files: GeneratedFile[]): Promise<string[]> {
  const folder = 'db/migrations';
  const expected = new Set(files.map((file) => file.path));
  const phases = new Set<string>();
  for (const file of files) {
    if (!file.path.startsWith(`${folder}/`)) continue;
    const header = parseHeader(file.content);
    if (header) phases.add(phaseKey(header));
  }
  let names: string[];
  try {
    names = await readdir(join(root, folder));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const removed: string[] = [];
  for (const name of names.filter((entry) => migrationFileNamePattern.test(entry)).sort()) {
    const path = `${folder}/${name}`;
    if (expected.has(path)) continue;
    await refuseLinks(root, path);
    const text = (await readIfExists(join(root, path))) ?? '';
    const header = parseHeader(text);
    if (header === undefined || !phases.has(phaseKey(header))) continue;
    // Edited since phasectl wrote it (its digest no longer holds): someone's work, kept (`generate --check` names it).
    // (Line ends as git may have checked them out on Windows do not count as an edit.)
    if (readProvenance(text.replace(/\r\n/g, '\n'))?.intact === false) continue;
    await unlink(join(root, path));
    removed.push(path);
  }
  return removed;
}
