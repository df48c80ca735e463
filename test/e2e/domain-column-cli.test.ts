import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * A column whose type is a domain with constraints: adding the new column of that type makes PostgreSQL check every
 * row under ACCESS EXCLUSIVE (a table rewrite; a NOT NULL domain fails outright). `plan` refuses it with the way out
 * (`--type <base type>`), and a move to a table where the column would be added is refused the same way.
 */
const cleanups = cleanupsAfterAll();

test('a domain with a CHECK or NOT NULL: plan refuses (exit 2, nothing planned); --type <base> plans, and phase 1 rewrites nothing', async () => {
  const { url, dir, run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE DOMAIN public.percent AS int CHECK (VALUE BETWEEN 0 AND 100);
     CREATE DOMAIN public.strict_percent AS public.percent NOT NULL;
     CREATE DOMAIN public.plain_label AS text;
     CREATE TABLE public.scores (id bigint PRIMARY KEY, score public.percent, level public.strict_percent, label public.plain_label);
     INSERT INTO public.scores SELECT g, g % 101, g % 50, 'l' || g FROM generate_series(1, 500) g;
     CREATE TABLE public.results (id bigint PRIMARY KEY, scores_id bigint UNIQUE);
     INSERT INTO public.results SELECT g, g FROM generate_series(1, 500) g;`,
    'phasectl-domain-column-',
  );
  await ok('init');
  const refused = await run('plan', 'rename', 'public.scores.score', 'percentage', '--id', 'score');
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(
    'public.scores.score is of domain public.percent, which has constraints (CHECK percent_check)',
  );
  expect(refused.stderr).toContain('ACCESS EXCLUSIVE');
  expect(refused.stderr).toContain('--type integer');
  const nested = await run('plan', 'rename', 'public.scores.level', 'grade', '--id', 'level');
  expect(nested.code, nested.stderr).toBe(2);
  expect(nested.stderr).toContain('(CHECK percent_check, NOT NULL)');
  const moved = await run('plan', 'move', 'public.scores.score', 'public.results.score', '--on', 'id=scores_id');
  expect(moved.code, moved.stderr).toBe(2);
  expect(moved.stderr).toContain('which has constraints');
  const { stdout } = await ok('status');
  expect(stdout).not.toContain('score');

  // A domain without constraints adds no check: planned as usual.
  await ok('plan', 'rename', 'public.scores.label', 'tag', '--id', 'label');
  // The way out the hint gives: the new column takes the base type.
  await ok('plan', 'rename', 'public.scores.score', 'percentage', '--type', 'integer', '--id', 'score');
  const before = await query<{ node: string }>(url, `SELECT pg_relation_filenode('public.scores')::text AS node`);
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  expect(await query(url, `SELECT pg_relation_filenode('public.scores')::text AS node`)).toEqual(before);
  expect(await hasColumn(url, 'public.scores', 'percentage')).toBe(true);
  expect(
    await query(url, `SELECT count(*)::int AS n FROM public.scores WHERE percentage IS DISTINCT FROM score`),
  ).toEqual([{ n: 0 }]);
  void dir;
}, 120_000);
