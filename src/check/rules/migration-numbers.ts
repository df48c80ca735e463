import { changeIdFromPath } from '../../migration-file/header.js';
import type { CheckWarning } from '../types.js';

/** The number a migration file sorts by: its name up to the first `_` (`002` of `002_1.5.0_…`, `002a` of `002a_audit.sql`). */
export function migrationNumber(name: string): string | undefined {
  const match = /^(\d[^_]*)_/.exec(name);
  return match?.[1];
}

/**
 * Warnings (not violations) about the numbers of hand-written files in db/migrations: files run in name order,
 * so a hand-written file numbered like phasectl's files of a release (`002_…`), or like another hand-written
 * file, runs at a place decided by the rest of its name, by accident. `files` are paths relative to the
 * repository root; those directly under `migrationsDir` count. Pure.
 */
export function migrationNumberWarnings(files: readonly string[], migrationsDir: string): CheckWarning[] {
  const prefix = migrationsDir.endsWith('/') ? migrationsDir : `${migrationsDir}/`;
  const generated = new Map<string, string>();
  const handWritten = new Map<string, string[]>();
  for (const file of [...files].sort()) {
    if (!file.startsWith(prefix) || !file.endsWith('.sql')) continue;
    const name = file.slice(prefix.length);
    if (name.includes('/')) continue;
    const number = migrationNumber(name);
    if (number === undefined) continue;
    if (changeIdFromPath(file) !== undefined) {
      if (!generated.has(number)) generated.set(number, name);
    } else {
      handWritten.set(number, [...(handWritten.get(number) ?? []), file]);
    }
  }
  const warnings: CheckWarning[] = [];
  for (const [number, paths] of handWritten) {
    const release = generated.get(number);
    const others = paths.length > 1;
    for (const file of paths) {
      const clashes = [
        ...(release ? [`phasectl's files of that release (${release}, …)`] : []),
        ...(others ? paths.filter((other) => other !== file).map((other) => other.slice(prefix.length)) : []),
      ];
      if (clashes.length === 0) continue;
      warnings.push({
        file,
        message: `migration number ${number} is also used by ${clashes.join(' and ')}: files run in name order, so where this one runs among them depends on the rest of its name`,
        fix: `rename it before it ships, e.g. to ${number}a_${file.slice(prefix.length + number.length + 1)} to run after every file numbered ${number} (docs/check.md, "Hand-written migrations")`,
      });
    }
  }
  return warnings;
}
