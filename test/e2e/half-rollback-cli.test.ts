import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * A rollback of phase 1 that stops half-way (a view the team created on the new column makes its last down file
 * fail, after the index and constraint copies were dropped) leaves phase 1's up files recorded. `migrate` used to go
 * on from there (status said "next: phasectl migrate", the error said "rerun `phasectl migrate`"): phase 3 then ran
 * without the index copy (lost without a word) and set NOT NULL by a full scan. It now refuses until the rollback is
 * finished, and the error of a failed down file names the rollback to rerun.
 */
const cleanups = cleanupsAfterAll();

test('migrate refuses to go forward after a rollback stopped half-way; finishing the rollback, then migrate, rebuilds what it dropped', async () => {
  const { url, ok, run } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL);
     CREATE INDEX users_job_title_idx ON public.users (job_title);
     INSERT INTO public.users SELECT g, 'title ' || g FROM generate_series(1, 20) g;`,
    'phasectl-half-rollback-',
  );
  const indexes = async () =>
    (
      await query<{ name: string }>(
        url,
        `SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'public.users'::regclass ORDER BY 1`,
      )
    ).map((row) => row.name);
  await ok('init');
  await ok('plan', 'rename', 'public.users.job_title', 'favourite_color', '--id', 'users-job-title');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  expect(await indexes()).toEqual(['users_favourite_color_idx', 'users_job_title_idx', 'users_pkey']);
  await query(url, `CREATE VIEW public.new_titles AS SELECT id, favourite_color FROM public.users`);

  const failed = await run('rollback', '--release', '1.0.0', '--yes', '--quiet');
  expect(failed.code).toBe(3);
  expect(failed.stderr).toContain('view public.new_titles depends on column favourite_color');
  expect(failed.stderr).toContain('then rerun `phasectl rollback --release 1.0.0`');
  expect(await indexes()).toEqual(['users_job_title_idx', 'users_pkey']); // the copy is gone already

  const refused = await run('migrate', '--quiet');
  expect(refused.code).toBe(3);
  expect(refused.stderr).toContain('a rollback stopped half-way: phase 1 of users-job-title (ran: ');
  expect(refused.stderr).toContain('`phasectl rollback --release 1.0.0`');

  const status = await ok('status');
  expect(status.stdout).toContain('a rollback of phase 1 stopped half-way (ran: ');
  expect(status.stdout).toContain(
    'next: phasectl rollback --release 1.0.0  (finish the rollback of phase 1 of users-job-title)',
  );

  await query(url, `DROP VIEW public.new_titles`);
  await ok('rollback', '--release', '1.0.0', '--yes', '--quiet');
  expect((await ok('status')).stdout).not.toContain('half-way');
  await ok('migrate', '--quiet');
  expect(await indexes()).toEqual(['users_favourite_color_idx', 'users_job_title_idx', 'users_pkey']);
  // A rollback that finished, then migrate: nothing to refuse.
  await ok('rollback', '--release', '1.0.0', '--yes', '--quiet');
  await ok('migrate', '--quiet');
}, 180_000);
