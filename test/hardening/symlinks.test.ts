import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { initialPhasesText } from '../../src/commands/init.js';
import { runCli } from '../support/cli-process.js';

/**
 * Issue 17 item 4: a hostile repository can ship symbolic links under db/ (or phases.yaml itself) aimed at
 * ~/.bashrc: generate, advance, plan and init never write through a link and exit 2 naming it.
 */

let base: string;
let project: string;
let outside: string;
const victimText = 'echo "my shell startup file"\n';

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'phasectl-links-'));
  project = join(base, 'project');
  outside = join(base, 'home');
  await mkdir(project);
  await mkdir(outside);
  await writeFile(join(outside, '.bashrc'), victimText);
  await writeFile(
    join(project, 'phases.yaml'),
    initialPhasesText().replace('version: 1\n', 'version: 1\nmigrations:\n  format: kysely\n'),
  );
  const planned = await runCli(
    ['plan', 'rename', 'users.job_title', 'favourite_color', '--type', 'text', '--key', 'id:bigint'],
    { DATABASE_URL: '' },
    project,
  );
  expect(planned.code, planned.stderr).toBe(0);
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

const victim = () => readFile(join(outside, '.bashrc'), 'utf8');

test('advance and generate do not write through a link planted as a generated file', async () => {
  await mkdir(join(project, 'db', 'migrations'), { recursive: true });
  const planted = '001_1.4.0_users-job-title-to-favourite-color_p1_01_expand.up.sql';
  await symlink(join(outside, '.bashrc'), join(project, 'db', 'migrations', planted));
  const phasesBefore = await readFile(join(project, 'phases.yaml'), 'utf8');
  const advanced = await runCli(['advance', '--release', '1.4.0'], {}, project);
  expect(advanced.code, advanced.stderr).toBe(2);
  expect(advanced.stderr).toContain(`db/migrations/${planted} is a symbolic link (to ${join(outside, '.bashrc')})`);
  expect(await victim()).toBe(victimText);
  // Refused before anything changed: phases.yaml too.
  expect(await readFile(join(project, 'phases.yaml'), 'utf8')).toBe(phasesBefore);

  await rm(join(project, 'db', 'migrations', planted));
  expect((await runCli(['advance', '--release', '1.4.0'], {}, project)).code).toBe(0);
  await rm(join(project, 'db', 'migrations', planted));
  await symlink(join(outside, '.bashrc'), join(project, 'db', 'migrations', planted));
  const generated = await runCli(['generate'], {}, project);
  expect(generated.code, generated.stderr).toBe(2);
  expect(generated.stderr).toContain(`db/migrations/${planted} is a symbolic link`);
  expect(await victim()).toBe(victimText);
}, 180_000);

test('a linked folder (db/kysely, or db itself) is refused: nothing is created outside the project', async () => {
  await mkdir(join(project, 'db'));
  await symlink(outside, join(project, 'db', 'kysely'));
  const kysely = await runCli(['advance', '--release', '1.4.0'], {}, project);
  expect(kysely.code, kysely.stderr).toBe(2);
  expect(kysely.stderr).toContain('db/kysely is a symbolic link');
  expect((await readdir(outside)).sort()).toEqual(['.bashrc']);

  await rm(join(project, 'db'), { recursive: true });
  await symlink(outside, join(project, 'db'));
  for (const args of [['advance', '--release', '1.4.0'], ['init']]) {
    const result = await runCli(args, {}, project);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
    expect(result.stderr).toContain('db is a symbolic link');
  }
  expect((await readdir(outside)).sort()).toEqual(['.bashrc']);
}, 180_000);

test('phases.yaml as a link: plan and advance refuse instead of replacing or following it', async () => {
  const real = await readFile(join(project, 'phases.yaml'), 'utf8');
  await writeFile(join(outside, '.bashrc'), real);
  await rm(join(project, 'phases.yaml'));
  await symlink(join(outside, '.bashrc'), join(project, 'phases.yaml'));
  for (const args of [
    ['advance', '--release', '1.4.0'],
    ['plan', 'rename', 'users.email', 'mail', '--type', 'text', '--key', 'id:bigint'],
  ]) {
    const result = await runCli(args, { DATABASE_URL: '' }, project);
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
    expect(result.stderr).toContain('phases.yaml is a symbolic link');
  }
  expect(await victim()).toBe(real);
  expect(await readdir(outside)).toEqual(['.bashrc']);
}, 180_000);
