import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * A rule (`CREATE RULE … ON INSERT …`, not a view) that names the renamed column: PostgreSQL records it as depending
 * on the column, so phase 3's DROP COLUMN would fail with a hint to CASCADE, which drops the rule. `plan` lists it as
 * work before phase 3; phase 3 refuses, naming it, until it is re-created on the new column.
 */
const cleanups = cleanupsAfterAll();

test('a rule naming the column: listed at plan, phase 3 refuses (nothing dropped) until it names the new column', async () => {
  const { url, run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown');
     INSERT INTO public.users SELECT g, 'title ' || g FROM generate_series(1, 20) g;
     CREATE TABLE public.title_log (id bigint, title text);
     CREATE RULE log_title AS ON INSERT TO public.users DO ALSO INSERT INTO public.title_log VALUES (NEW.id, NEW.job_title);`,
    'phasectl-rules-',
  );
  await ok('init');
  const plan = await ok('plan', 'rename', 'public.users.job_title', 'favourite_color', '--id', 'users-job-title');
  expect(plan.stdout).toContain('work before phase 3: 1 rule(s) name public.users.job_title');
  expect(plan.stdout).toContain('rule log_title on public.users');
  for (const release of ['1.0.0', '2.0.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }

  await ok('advance', '--release', '3.0.0');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('rule log_title on public.users still names it');
  expect(refused.stderr).toContain('CREATE OR REPLACE RULE');
  expect(refused.stderr).not.toContain('CASCADE');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(true);

  await query(
    url,
    `CREATE OR REPLACE RULE log_title AS ON INSERT TO public.users DO ALSO INSERT INTO public.title_log VALUES (NEW.id, NEW.favourite_color)`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(false);
  await query(url, `INSERT INTO public.users (id, favourite_color) VALUES (100, 'after phase 3')`);
  expect(await query(url, `SELECT title FROM public.title_log WHERE id = 100`)).toEqual([{ title: 'after phase 3' }]);
}, 120_000);
