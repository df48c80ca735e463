import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';
import { makeProject } from '../support/fixtures-project.js';
import { cleanupsAfterAll } from '../support/test-project.js';

/** Issue 18 item 20: `check` warns (exit 0) about a hand-written migration whose number collides with another file's. */
const cleanups = cleanupsAfterAll();

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', '-c', 'commit.gpgsign=false', ...args],
    { cwd: dir, encoding: 'utf8' },
  ).trim();
}

test('check warns about a hand-written migration numbered like another file, and still exits 0', async () => {
  const project = await makeProject({}, 'version: 1\nchanges: []\n');
  cleanups.push(project.remove);
  const { dir } = project;
  expect(
    (
      await phasectl(['plan', 'rename', 'users.job_title', 'favourite_color', '--type', 'text', '--key', 'id:bigint'], {
        cwd: dir,
      })
    ).code,
  ).toBe(0);
  expect((await phasectl(['advance', '--release', '1.0.0'], { cwd: dir })).code).toBe(0);
  expect((await phasectl(['advance', '--release', '1.1.0'], { cwd: dir })).code).toBe(0);
  const own = {
    '002_add_audit.sql': 'CREATE TABLE audit (id int);\n',
    '005_a.sql': 'SELECT 1;\n',
    '005_b.sql': 'SELECT 2;\n',
    '002a_seed.sql': 'SELECT 3;\n',
  };
  for (const [name, sql] of Object.entries(own)) await writeFile(join(dir, 'db/migrations', name), sql);
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'base');

  const text = await phasectl(['check', '--project', dir, '--base', 'HEAD']);
  expect(text.code, text.stdout + text.stderr).toBe(0);
  expect(text.stdout).toMatch(
    /warning: db\/migrations\/002_add_audit\.sql {2}migration number 002 is also used by phasectl's files of that release \(002_1\.1\.0_users-job-title-to-favourite-color_p2_/,
  );
  expect(text.stdout).toContain('fix: rename it before it ships, e.g. to 002a_add_audit.sql');
  expect(text.stdout).toContain('warning: db/migrations/005_a.sql  migration number 005 is also used by 005_b.sql');
  expect(text.stdout).toContain('warning: db/migrations/005_b.sql  migration number 005 is also used by 005_a.sql');
  expect(text.stdout).not.toContain('002a_seed.sql');
  expect(text.stdout).toMatch(/check: ok/);

  const json = await phasectl(['check', '--project', dir, '--base', 'HEAD', '--format', 'json']);
  expect(json.code).toBe(0);
  const parsed = JSON.parse(json.stdout) as { ok: boolean; warnings: { file: string }[] };
  expect(parsed.ok).toBe(true);
  expect(parsed.warnings.map((warning) => warning.file)).toEqual([
    'db/migrations/002_add_audit.sql',
    'db/migrations/005_a.sql',
    'db/migrations/005_b.sql',
  ]);
  const github = await phasectl(['check', '--project', dir, '--base', 'HEAD', '--format', 'github']);
  expect(github.stdout).toContain(
    '::warning file=db/migrations/002_add_audit.sql,title=phasectl check::migration number 002',
  );
}, 300_000);
