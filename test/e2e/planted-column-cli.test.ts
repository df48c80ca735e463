import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { plannedTitleRename } from '../support/planned-project.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * Phase 1 adds the new column with ADD COLUMN IF NOT EXISTS, so that a rerun of the file is harmless. A column of
 * that name created after `plan` (a migration of the team's own, a hand-made column) would be kept as it is: its
 * DEFAULT would win over what the old release inserts (both columns set and different: the new one wins), a
 * generated column would make every write fail. The expand step accepts only the column it would add itself.
 */
const cleanups = cleanupsAfterAll();

test('a column with the new name created after plan, with a DEFAULT: phase 1 refuses and changes nothing', async () => {
  const project = await plannedTitleRename(cleanups, 'phasectl-planted-column-');
  await query(project.url, `ALTER TABLE public.users ADD COLUMN title text DEFAULT 'unknown'`);
  const refused = await project.run('migrate');
  // Before the fix: exit 0, and the old release's insert below lost its value to the new column's DEFAULT.
  await query(project.url, `INSERT INTO public.users (id, job_title) VALUES (1000, 'from the old release')`).catch(
    () => undefined,
  );
  const inserted = await query<{ job_title: string }>(
    project.url,
    `SELECT job_title FROM public.users WHERE id = 1000`,
  );
  expect(inserted[0]?.job_title).toBe('from the old release');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  // The runner's own check (src/runner/unrecorded-column.ts: the column holds values) speaks first; other runners
  // meet the generated file's guard (templates/shared/new-column-guard.hbs).
  expect(refused.stderr).toMatch(
    /public\.users\.title already exists and holds values|column title of public\.users already exists/,
  );
  // Nothing of phase 1 stayed: no sync trigger on the table.
  const triggers = await query<{ n: number }>(
    project.url,
    `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'public.users'::regclass AND NOT tgisinternal`,
  );
  expect(triggers[0]!.n).toBe(0);
});

test('a column with the new name created after plan as a generated column: phase 1 refuses', async () => {
  const project = await plannedTitleRename(cleanups, 'phasectl-planted-column-');
  await query(
    project.url,
    `ALTER TABLE public.users ADD COLUMN title text GENERATED ALWAYS AS (upper(job_title)) STORED`,
  );
  const refused = await project.run('migrate');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  // The runner's own check (src/runner/unrecorded-column.ts: the column holds values) speaks first; other runners
  // meet the generated file's guard (templates/shared/new-column-guard.hbs).
  expect(refused.stderr).toMatch(
    /public\.users\.title already exists and holds values|column title of public\.users already exists/,
  );
  // The application still writes.
  await query(project.url, `UPDATE public.users SET job_title = 'still writes' WHERE id = 1`);
});

test('a move: a column with the new name created on the target table after plan, of another type, is refused', async () => {
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
     CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE REFERENCES public.users (id));
     INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 50) g;
     INSERT INTO public.profiles SELECT g, g FROM generate_series(1, 50) g;`,
    'phasectl-planted-column-',
  );
  await project.ok('init');
  await project.ok('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr');
  await project.ok('advance', '--release', '1.0.0');
  await query(project.url, `ALTER TABLE public.profiles ADD COLUMN address varchar(8)`);
  const refused = await project.run('migrate');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain('column address of public.profiles already exists');
  expect(refused.stderr).toContain('its type is character varying(8)');
  // The application still writes long addresses (no trigger copies them into the short column).
  await query(project.url, `UPDATE public.users SET address = 'a rather long street name' WHERE id = 1`);
});
