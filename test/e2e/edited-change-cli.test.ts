import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject, hasColumn } from '../support/test-project.js';

/**
 * A change edited in phases.yaml after its phase shipped (here the new column's name): what runs is the shipped files,
 * so every command that acts on the change refuses the edit the way migrate does (exit 2, nothing changed), and
 * rollback runs the shipped down files as they are (the way back the refusal names).
 */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

test('advance, backfill and verify refuse a shipped change edited in phases.yaml (exit 2, nothing written); rollback still runs the shipped files', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0'] });
  const run = (...args: string[]) => phasectl([...args, '--project', dir], { env });
  const migrated = await run('migrate', '--quiet');
  expect(migrated.code, migrated.stderr).toBe(0);

  const phasesFile = join(dir, 'phases.yaml');
  const edited = (await readFile(phasesFile, 'utf8')).replace(
    '\n      to: favourite_color\n',
    '\n      to: favorite_color\n',
  );
  await writeFile(phasesFile, edited);
  const before = await readdir(join(dir, 'db', 'migrations'));

  const advanced = await run('advance', '--release', '1.1.0');
  expect(advanced.code, advanced.stdout + advanced.stderr).toBe(2);
  expect(advanced.stderr).toContain('phases.yaml and the migration files in db/migrations disagree');
  expect(advanced.stderr).toContain('git checkout -- phases.yaml');
  expect(await readFile(phasesFile, 'utf8')).toBe(edited);
  expect(await readdir(join(dir, 'db', 'migrations'))).toEqual(before);

  for (const args of [['migrate'], ['backfill', CHANGE], ['verify', CHANGE]]) {
    const refused = await run(...args);
    expect(refused.code, `${args.join(' ')}: ${refused.stdout}${refused.stderr}`).toBe(2);
    expect(refused.stderr).toContain('phases.yaml and the migration files in db/migrations disagree');
  }
  expect(await hasColumn(url, 'public.users', 'favourite_color')).toBe(true);
  expect(await hasColumn(url, 'public.users', 'favorite_color')).toBe(false);

  const shown = await run('status');
  expect(shown.stdout + shown.stderr).toContain('disagree');

  // The way back the refusal names: the shipped down files run as written, whatever phases.yaml says now.
  const rolledBack = await run('rollback', '--release', '1.0.0', '--yes', '--quiet');
  expect(rolledBack.code, rolledBack.stderr).toBe(0);
  expect(await hasColumn(url, 'public.users', 'favourite_color')).toBe(false);
  expect(await query(url, `SELECT count(*)::int AS n FROM phasectl.changes`)).toEqual([{ n: 0 }]);
}, 120_000);
