import { constants } from 'node:fs';
import { lstat, mkdir, open, readlink, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { isAbsolute, join, relative, sep } from 'node:path';
import { InputError } from '../errors.js';

/**
 * Writing inside a project without following symbolic links. A repository can ship a link (say
 * `db/migrations/001_….sql -> ~/.bashrc`, or `db -> /etc`): every path phasectl writes is checked component by
 * component below the project root with lstat, files are opened with O_NOFOLLOW, and a link is refused (exit 2)
 * naming it. The project root itself is the user's choice and may be reached through a link.
 */

/** The parts of `path` (relative to the root) after checking it stays inside the root. */
function parts(root: string, path: string): string[] {
  const relativePath = isAbsolute(path) ? relative(root, path) : path;
  const split = relativePath.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
  if (isAbsolute(relativePath) || split.length === 0 || split.includes('..')) {
    throw new InputError(`${path} is outside the project ${root}`, {
      hint: 'phasectl writes only inside the project folder',
    });
  }
  return split;
}

async function linkError(root: string, full: string): Promise<InputError> {
  const target = await readlink(full).catch(() => '?');
  return new InputError(
    `${relative(root, full).split(sep).join('/')} is a symbolic link (to ${target}): phasectl never writes through links`,
    {
      hint: 'replace the link with a real folder or file (check where it came from: a repository has no reason to ship links under db/), then run again',
    },
  );
}

/**
 * Refuses when any component of `path` below `root` is a symbolic link, or a folder in it is not a folder.
 * Components that do not exist yet are fine (they will be created as plain folders and files).
 */
export async function refuseLinks(root: string, path: string): Promise<void> {
  let current = root;
  const names = parts(root, path);
  for (const [index, name] of names.entries()) {
    current = join(current, name);
    const info = await lstat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info === undefined) return;
    if (info.isSymbolicLink()) throw await linkError(root, current);
    if (index < names.length - 1 && !info.isDirectory()) {
      throw new InputError(`${relative(root, current)} is not a folder`, {
        hint: 'move that file away, then run again',
      });
    }
  }
}

/** Creates the folder `path` (and its parents) below `root`, one component at a time, refusing links. */
export async function makeFolder(root: string, path: string): Promise<void> {
  let current = root;
  for (const name of parts(root, path)) {
    current = join(current, name);
    await mkdir(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    const info = await lstat(current);
    if (info.isSymbolicLink()) throw await linkError(root, current);
    if (!info.isDirectory())
      throw new InputError(`${relative(root, current)} is not a folder`, {
        hint: 'move that file away, then run again',
      });
  }
}

/** Writes `content` to `path` below `root`: folders created, no link followed anywhere (O_NOFOLLOW on the file). */
export async function writeProjectFile(root: string, path: string, content: string): Promise<void> {
  const names = parts(root, path);
  await refuseLinks(root, path);
  if (names.length > 1) await makeFolder(root, names.slice(0, -1).join('/'));
  const full = join(root, ...names);
  const handle = await open(
    full,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    0o666,
  ).catch(async (error: NodeJS.ErrnoException) => {
    // ELOOP: the file became a link after the check.
    if (error.code === 'ELOOP') throw await linkError(root, full);
    throw error;
  });
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Replaces `path` below `root` atomically (a new temporary file beside it, then a rename: readers never see half
 * a file). The temporary file is created exclusively, and a link at `path` is refused rather than replaced.
 */
export async function writeProjectFileAtomic(root: string, path: string, content: string): Promise<void> {
  const names = parts(root, path);
  await refuseLinks(root, path);
  if (names.length > 1) await makeFolder(root, names.slice(0, -1).join('/'));
  const full = join(root, ...names);
  const temporary = `${full}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(
      temporary,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o666,
    );
    try {
      await handle.writeFile(content, 'utf8');
    } finally {
      await handle.close();
    }
    await refuseLinks(root, path);
    await rename(temporary, full);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
