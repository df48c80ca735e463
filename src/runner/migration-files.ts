import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { checksum } from '../generate/checksum.js';
import { HEADER_PREFIX, parseHeader, type MigrationHeader } from '../migration-file/header.js';

export type { MigrationHeader };

/** One file of db/migrations as the runner sees it. */
export interface MigrationFile {
  /** File name, e.g. `001_1.4.0_users-x_p1_01_expand.up.sql`; the key in phasectl.migrations. */
  name: string;
  path: string;
  content: string;
  checksum: string;
  /** Absent for files phasectl did not generate: they run in a transaction, recorded with change_id NULL. */
  header?: MigrationHeader;
  /** `up` or `down` from the header, else from the `.down.sql` suffix (down files are never applied by migrate). */
  direction: 'up' | 'down';
}

/**
 * The header of a file (src/generate/header.ts), or undefined for files phasectl did not write.
 * A first line that starts like a phasectl header but does not parse is an error, not a plain file:
 * running it as plain SQL would skip its transaction and action settings.
 */
export function parseMigrationHeader(content: string, fileName = '(migration)'): MigrationHeader | undefined {
  if (!content.startsWith(HEADER_PREFIX)) return undefined;
  const header = parseHeader(content);
  if (!header) {
    throw new InputError('malformed phasectl header on line 1', {
      location: { file: fileName, line: 1 },
      hint: 'restore the file from git or regenerate it with `phasectl generate`',
    });
  }
  return header;
}

/** Reads every `.sql` file of the migrations folder, sorted by name (byte order, like `ls` in C locale). */
export async function readMigrationFiles(dir: string): Promise<MigrationFile[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.sql'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  names.sort(compareNames);
  const files: MigrationFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const content = await readFile(path, 'utf8');
    const header = parseMigrationHeader(content, path);
    files.push({
      name,
      path,
      content,
      checksum: checksum(content),
      header,
      direction: header?.direction ?? (name.endsWith('.down.sql') ? 'down' : 'up'),
    });
  }
  return files;
}

/** Code-unit order, independent of the locale. */
export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
