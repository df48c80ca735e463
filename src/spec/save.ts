import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import { toText } from './edit.js';
import type { LoadedPhases } from './load.js';

/** Writes text atomically: a temporary file next to the target, then a rename (readers never see half a file). */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, text, 'utf8');
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** Saves an edited phases.yaml atomically, comments and all. */
export async function savePhasesFile(loaded: LoadedPhases): Promise<void> {
  await writeFileAtomic(loaded.file, toText(loaded));
}
