import { InputError, PhasectlError, ExitCode } from '../errors.js';
import { compareNames, type MigrationFile } from './migration-files.js';

/** A row of phasectl.migrations. */
export interface AppliedMigration {
  name: string;
  checksum: string;
  changeId: string | null;
  phase: number | null;
  direction: string | null;
  release: string | null;
  appliedAt: Date;
}

const immutableHint =
  'shipped migrations are immutable: restore the file from git (git checkout <ref> -- db/migrations/<file>), and put the change in a new release';

/**
 * Refuses to go on when an applied file changed or disappeared: never re-run or skip silently.
 * Pure: compares what is on disk with what the database recorded.
 */
export function checkAppliedFiles(files: MigrationFile[], applied: AppliedMigration[], migrationsDir: string): void {
  const byName = new Map(files.map((file) => [file.name, file]));
  const releasesOnDisk = new Set(files.flatMap((file) => (file.header ? [file.header.release] : [])));
  for (const row of applied) {
    const file = byName.get(row.name);
    if (!file && row.release !== null && !releasesOnDisk.has(row.release)) {
      // Not one file of that release here: most likely an older checkout (or another branch), not a deleted file.
      throw new PhasectlError(
        `migration ${row.name} was applied at ${row.appliedAt.toISOString()} but is missing from ${migrationsDir}, as is every file of release ${row.release}: this checkout is older than the database (or another branch), or they were deleted; nothing was run`,
        {
          exitCode: ExitCode.badInput,
          hint: `run phasectl from a checkout that holds release ${row.release} or later; to undo that release, roll it back from there (\`phasectl rollback --release ${row.release}\`); deleted files: restore them from git (git log --diff-filter=D -- '*_${row.release}_*')`,
        },
      );
    }
    if (!file) {
      throw new PhasectlError(
        `migration ${row.name} was applied at ${row.appliedAt.toISOString()} but is missing from ${migrationsDir}`,
        {
          exitCode: ExitCode.badInput,
          hint: `shipped migrations are never removed: restore the file from git (git log --diff-filter=D -- '*${row.name}')`,
        },
      );
    }
    if (file.checksum !== row.checksum) {
      throw new PhasectlError(
        `migration ${row.name} changed after it was applied at ${row.appliedAt.toISOString()} (checksum ${row.checksum.slice(0, 12)}… in the database, ${file.checksum.slice(0, 12)}… on disk)`,
        { exitCode: ExitCode.badInput, location: { file: file.path }, hint: immutableHint },
      );
    }
  }
}

/**
 * The up files still to apply, in file-name order; with `toRelease`, only those up to and including
 * the last file of that release.
 */
export function pendingUpFiles(
  files: MigrationFile[],
  applied: AppliedMigration[],
  toRelease?: string,
): MigrationFile[] {
  const done = new Set(applied.map((row) => row.name));
  const ups = files.filter((file) => file.direction === 'up').sort((a, b) => compareNames(a.name, b.name));
  let limit = ups;
  if (toRelease !== undefined) {
    const lastIndex = ups.map((file) => file.header?.release).lastIndexOf(toRelease);
    if (lastIndex < 0) {
      const known = [...new Set(ups.flatMap((file) => (file.header ? [file.header.release] : [])))];
      throw new InputError(`no migration file belongs to release ${toRelease}`, {
        hint: known.length
          ? `releases with migrations: ${known.join(', ')}`
          : 'run `phasectl advance --release <name>` first',
      });
    }
    limit = ups.slice(0, lastIndex + 1);
  }
  return limit.filter((file) => !done.has(file.name));
}

/** One (change, phase) of a release being rolled back. */
export interface RollbackGroup {
  changeId: string;
  phase: number;
  /** Down files in ascending step order. */
  downs: MigrationFile[];
  /** The applied up files this group removes from phasectl.migrations. */
  upNames: string[];
}

/**
 * What `rollback --release R` runs: the (change, phase) groups of R in reverse file-name order, each
 * group's down files ascending. Refuses unless R is the newest applied release.
 */
export function rollbackPlan(files: MigrationFile[], applied: AppliedMigration[], release: string): RollbackGroup[] {
  const withRelease = applied
    .filter((row) => row.release !== null && row.direction !== 'down')
    .sort((a, b) => compareNames(a.name, b.name));
  const newest = withRelease.at(-1)?.release;
  if (!withRelease.some((row) => row.release === release)) {
    throw new InputError(`release ${release} has no applied migrations in this database`, {
      hint: newest ? `the newest applied release is ${newest}` : 'nothing phasectl generated has been applied yet',
    });
  }
  if (newest !== release) {
    throw new InputError(`release ${release} is not the newest applied release: ${newest} was applied after it`, {
      hint: `roll back ${newest} first: phasectl rollback --release ${newest}`,
    });
  }
  const groups = new Map<string, RollbackGroup & { firstUp: string }>();
  for (const row of withRelease.filter((r) => r.release === release)) {
    const key = `${row.changeId}\u0000${row.phase}`;
    let group = groups.get(key);
    if (!group) {
      group = { changeId: row.changeId ?? '', phase: row.phase ?? 0, downs: [], upNames: [], firstUp: row.name };
      groups.set(key, group);
    }
    group.upNames.push(row.name);
  }
  for (const group of groups.values()) {
    group.downs = files
      .filter(
        (file) =>
          file.header?.direction === 'down' &&
          file.header.changeId === group.changeId &&
          file.header.phase === group.phase &&
          file.header.release === release,
      )
      .sort((a, b) => a.header!.order - b.header!.order || compareNames(a.name, b.name));
    if (group.downs.length === 0) {
      throw new InputError(`no down files for ${group.changeId} phase ${group.phase} of release ${release}`, {
        hint: 'restore them from git or regenerate with `phasectl generate`',
      });
    }
  }
  return [...groups.values()]
    .sort((a, b) => compareNames(b.firstUp, a.firstUp))
    .map(({ firstUp: _firstUp, ...group }) => group);
}
