import { basename, dirname } from 'node:path';
import { writeProjectFileAtomic } from '../files/no-follow.js';
import { toText } from './edit.js';
import type { LoadedPhases } from './load.js';

/**
 * Writes text atomically: a temporary file next to the target, then a rename (readers never see half a file).
 * A symbolic link at `file` is refused, never followed nor replaced.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await writeProjectFileAtomic(dirname(file), basename(file), text);
}

/** Saves an edited phases.yaml atomically, comments and all. */
export async function savePhasesFile(loaded: LoadedPhases): Promise<void> {
  await writeFileAtomic(loaded.file, toText(loaded));
}
