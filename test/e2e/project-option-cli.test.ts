import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';

/**
 * `--project <dir>` on the commands that lacked it (init, plan rename, plan move, advance, generate): run from a
 * folder that is NOT the project, each command must act on the named project and leave the working folder alone.
 */

let cwd: string;
let project: string;
const env = { DATABASE_URL: undefined, PHASECTL_RELEASE: undefined, NO_COLOR: '1' };

beforeEach(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'phasectl-cwd-'));
  project = join(await mkdtemp(join(tmpdir(), 'phasectl-project-')), 'billing');
});

afterEach(async () => {
  await rm(cwd, { recursive: true, force: true });
  await rm(join(project, '..'), { recursive: true, force: true });
});

const planOffline = [
  'plan',
  'rename',
  'users.job_title',
  'favourite_color',
  '--type',
  'text',
  '--key',
  'id:bigint',
  '--id',
  'users-job-title',
];

test(
  'init --project creates phases.yaml and db/ in that folder, not in the working folder',
  { timeout: 180_000 },
  async () => {
    const result = await phasectl(['init', '--project', project], { cwd, env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await readdir(project)).toEqual(expect.arrayContaining(['phases.yaml', 'db']));
    expect(await readdir(join(project, 'db'))).toEqual(expect.arrayContaining(['migrations', 'functions', 'triggers']));
    expect(await readdir(cwd)).toEqual([]);
  },
);

test("plan rename --project appends the change to that project's phases.yaml", { timeout: 180_000 }, async () => {
  await phasectl(['init', '--project', project], { cwd, env });
  const result = await phasectl([...planOffline, '--project', project], { cwd, env });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  expect(await readFile(join(project, 'phases.yaml'), 'utf8')).toContain('id: users-job-title');
  expect(await readdir(cwd)).toEqual([]);
});

test(
  "plan move --project reads that project's phases.yaml (refused before any database work without one)",
  { timeout: 180_000 },
  async () => {
    const result = await phasectl(
      ['plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--project', project],
      { cwd, env },
    );
    expect(result.code).toBe(2);
    // The error names the project folder, not the working folder.
    expect(result.stderr).toContain(project);
    expect(await readdir(cwd)).toEqual([]);
  },
);

test('advance --project writes the migrations of that project', { timeout: 180_000 }, async () => {
  await phasectl(['init', '--project', project], { cwd, env });
  await phasectl([...planOffline, '--project', project], { cwd, env });
  const result = await phasectl(['advance', '--release', '1.4.0', '--project', project], { cwd, env });
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  const migrations = await readdir(join(project, 'db', 'migrations'));
  expect(migrations.some((name) => name.includes('1.4.0') && name.endsWith('.up.sql'))).toBe(true);
  expect(await readFile(join(project, 'phases.yaml'), 'utf8')).toContain('phase1: 1.4.0');
  expect(await readdir(cwd)).toEqual([]);
});

test(
  "generate --project re-renders that project's files, and --check compares them",
  { timeout: 180_000 },
  async () => {
    await phasectl(['init', '--project', project], { cwd, env });
    await phasectl([...planOffline, '--project', project], { cwd, env });
    await phasectl(['advance', '--release', '1.4.0', '--project', project], { cwd, env });
    expect((await phasectl(['generate', '--check', '--project', project], { cwd, env })).code).toBe(0);

    const [first] = (await readdir(join(project, 'db', 'migrations'))).sort();
    const file = join(project, 'db', 'migrations', first!);
    const original = await readFile(file, 'utf8');
    await writeFile(file, `${original}-- edited by hand\n`);
    const stale = await phasectl(['generate', '--check', '--project', project], { cwd, env });
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain(first);

    const regenerated = await phasectl(['generate', '--project', project], { cwd, env });
    expect(regenerated.code).toBe(0);
    expect(await readFile(file, 'utf8')).toBe(original);
    expect(await readdir(cwd)).toEqual([]);
  },
);
