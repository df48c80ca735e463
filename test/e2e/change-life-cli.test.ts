import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';
import { makeProject } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/** The life of a change through the built CLI (issue 18 items 7 and 8): archive, unplan, plan --replace. */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();
}

function commitAll(dir: string, message: string): void {
  git(dir, 'add', '-A');
  git(
    dir,
    '-c',
    'user.name=t',
    '-c',
    'user.email=t@t.invalid',
    '-c',
    'commit.gpgsign=false',
    'commit',
    '-q',
    '-m',
    message,
  );
}

test('archive retires a change whose phase 3 shipped: files stay valid for generate --check and check, status still shows it', async () => {
  const { dir, env } = await databaseWithGeneratedProject(cleanups, {
    rows: 20,
    releases: ['1.0.0', '1.1.0', '1.2.0'],
  });
  expect((await phasectl(['migrate', '--project', dir, '--quiet'], { env })).code).toBe(0);
  git(dir, 'init', '-q', '-b', 'main');
  await writeFile(
    join(dir, 'phases.yaml'),
    (await readFile(join(dir, 'phases.yaml'), 'utf8')).replace('changes:', '# our changes, newest last\nchanges:'),
  );
  commitAll(dir, 'release 1.2.0');

  // Before it is archived, a change of its new column is refused, and the hint says to archive it (advancing it
  // further is not possible: it is through phase 3).
  const early = await phasectl(
    ['plan', 'rename', 'users.favourite_color', 'colour', '--type', 'text', '--key', 'id:bigint'],
    { cwd: dir },
  );
  expect(early.code).toBe(2);
  expect(early.stderr).toContain(
    `its phase 3 is in release 1.2.0: once that release is applied everywhere, \`phasectl archive ${CHANGE}\` retires it`,
  );
  expect(early.stderr).not.toContain('advance it to phase 3');

  const archived = await phasectl(['archive', CHANGE, '--project', dir]);
  expect(archived.code, archived.stderr).toBe(0);
  expect(archived.stdout).toContain(`archived change ${CHANGE} (phase 3 in release 1.2.0)`);
  const text = await readFile(join(dir, 'phases.yaml'), 'utf8');
  expect(text).toContain('# our changes, newest last'); // comments kept
  expect(text).toMatch(/\narchived:\n(.*\n)* {2}- id: users-job-title\n/);
  expect(text).not.toMatch(/\nchanges:\n {2}- id/);

  const generateCheck = await phasectl(['generate', '--check'], { cwd: dir });
  expect(generateCheck.code, generateCheck.stdout).toBe(0);
  commitAll(dir, 'archive');
  const checked = await phasectl(['check', '--project', dir, '--base', 'HEAD~1']);
  expect(checked.code, checked.stdout + checked.stderr).toBe(0);
  // An archived change's files are still checked: an edit of one is a violation.
  const migration = git(dir, 'ls-files', 'db/migrations').split('\n')[0]!;
  await writeFile(join(dir, migration), `${await readFile(join(dir, migration), 'utf8')}-- edited\n`);
  const edited = await phasectl(['check', '--project', dir, '--base', 'HEAD~1']);
  expect(edited.code).toBe(1);
  expect(edited.stdout).toContain(migration);
  git(dir, 'checkout', '--', migration);

  const status = await phasectl(['status', '--project', dir], { env });
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout).toContain(`${CHANGE} (archived)  public.users: job_title → favourite_color`);
  expect(status.stdout).toContain('phase: 3 (release 1.2.0) in phases.yaml, 3 (release 1.2.0) in the database');
  const json = JSON.parse((await phasectl(['status', '--project', dir, '--json'], { env })).stdout) as {
    changes: { id: string; archived?: boolean }[];
  };
  expect(json.changes).toEqual([expect.objectContaining({ id: CHANGE, archived: true })]);
  expect((await phasectl(['migrate', '--project', dir], { env })).code).toBe(0);

  // Its column is free again: a new change of favourite_color can be planned (offline here).
  const again = await phasectl(
    ['plan', 'rename', 'users.favourite_color', 'colour', '--type', 'text', '--key', 'id:bigint'],
    { cwd: dir },
  );
  expect(again.code, again.stderr).toBe(0);
  // Archiving twice, or an unknown id: exit 2.
  const twice = await phasectl(['archive', CHANGE, '--project', dir]);
  expect(twice.code).toBe(2);
  expect(twice.stderr).toContain('is archived');
}, 300_000);

test('archive refuses a change not yet through phase 3 (exit 2, phases.yaml unchanged)', async () => {
  const { dir } = await databaseWithGeneratedProject(cleanups, { rows: 5, releases: ['1.0.0', '1.1.0'] });
  const before = await readFile(join(dir, 'phases.yaml'), 'utf8');
  const refused = await phasectl(['archive', CHANGE, '--project', dir]);
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain(
    `change "${CHANGE}" is at phase 2: only a change whose phase 3 has shipped can be archived`,
  );
  expect(refused.stderr).toContain('advance it to phase 3');
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(before);
}, 300_000);

const offline = ['--type', 'text', '--key', 'id:bigint'];

test('plan --replace corrects a change not yet advanced in place; unplan removes one; both refuse an advanced change', async () => {
  const project = await makeProject({}, 'version: 1\nchanges: []\n');
  cleanups.push(project.remove);
  const { dir } = project;
  expect(
    (await phasectl(['plan', 'rename', 'users.job_title', 'favourite_colour', ...offline], { cwd: dir })).code,
  ).toBe(0);
  expect((await phasectl(['plan', 'rename', 'orders.amount', 'total', ...offline], { cwd: dir })).code).toBe(0);
  // Without --replace a second plan of the column is refused, and says how to correct it.
  const duplicate = await phasectl(['plan', 'rename', 'users.job_title', 'favourite_color', ...offline], { cwd: dir });
  expect(duplicate.code).toBe(2);
  expect(duplicate.stderr).toContain('--replace');
  const replaced = await phasectl(['plan', 'rename', 'users.job_title', 'favourite_color', '--replace', ...offline], {
    cwd: dir,
  });
  expect(replaced.code, replaced.stderr).toBe(0);
  expect(replaced.stdout).toContain('replaced change users-job-title-to-favourite-color');
  let text = await readFile(join(dir, 'phases.yaml'), 'utf8');
  expect(text).not.toContain('favourite_colour');
  // Still first in the list, where the corrected change was.
  expect(text.indexOf('id: users-job-title-to-favourite-color')).toBeLessThan(
    text.indexOf('id: orders-amount-to-total'),
  );
  const nothing = await phasectl(['plan', 'rename', 'users.email', 'mail', '--replace', ...offline], { cwd: dir });
  expect(nothing.code).toBe(2);
  expect(nothing.stderr).toContain('no change "users-email-to-mail" and no change of public.users.email');

  const removed = await phasectl(['unplan', 'orders-amount-to-total', '--project', dir]);
  expect(removed.code, removed.stderr).toBe(0);
  text = await readFile(join(dir, 'phases.yaml'), 'utf8');
  expect(text).not.toContain('orders');

  expect((await phasectl(['advance', '--release', '1.0.0'], { cwd: dir })).code).toBe(0);
  const advanced = await readFile(join(dir, 'phases.yaml'), 'utf8');
  for (const args of [
    ['unplan', 'users-job-title-to-favourite-color', '--project', dir],
    ['plan', 'rename', 'users.job_title', 'fav', '--replace', ...offline],
  ]) {
    const refused = await phasectl(args, { cwd: dir });
    expect(refused.code, args.join(' ')).toBe(2);
    expect(refused.stderr).toContain('has been advanced (phase1 in 1.0.0)');
    expect(refused.stderr).toContain('phasectl rollback --release');
  }
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(advanced);
}, 300_000);
