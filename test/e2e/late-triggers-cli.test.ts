import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * A trigger created on the table AFTER `plan` that names the column phase 3 drops: in its arguments only, PostgreSQL
 * records no dependency, so DROP COLUMN would go through and the trigger would fail at the application's next write.
 * Phase 3 (and a move's unsync step before it) refuses with the trigger named and the fix, nothing dropped.
 */
const cleanups = cleanupsAfterAll();

/** A project on a fresh database holding `schema`, with the change `plan` planned and its phases 1 and 2 applied. */
async function throughPhaseTwo(schema: string, plan: string[]) {
  const folder = await databaseWithFolder(cleanups, schema, 'phasectl-late-triggers-');
  await folder.ok('init');
  await folder.ok('plan', ...plan);
  for (const release of ['1.0.0', '1.1.0']) {
    await folder.ok('advance', '--release', release);
    await folder.ok('migrate', '--quiet');
  }
  return folder;
}

test('move: a source-table trigger created after plan naming the column in its arguments stops phase 3 before anything goes', async () => {
  const { url, run, ok } = await throughPhaseTwo(
    `CREATE TABLE public.users (id bigint PRIMARY KEY, address text, fts tsvector);
     CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE);
     INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 20) g;
     INSERT INTO public.profiles SELECT g, g FROM generate_series(1, 20) g;`,
    ['move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr'],
  );
  // Created after plan (plan would have refused it): only an argument names users.address.
  await query(
    url,
    `CREATE TRIGGER users_fts BEFORE INSERT OR UPDATE ON public.users FOR EACH ROW
       EXECUTE FUNCTION tsvector_update_trigger(fts, 'pg_catalog.simple', address)`,
  );

  await ok('advance', '--release', '1.2.0');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout).toBe(3);
  expect(refused.stderr).toContain(
    'change addr cannot drop "address": trigger users_fts on public.users (an argument) names it in its definition',
  );
  expect(refused.stderr).toContain('drop each, or re-create it without address');
  expect(refused.stderr).toContain('can be a trigger on public.profiles naming address');
  // Nothing went: the column, and the sync from the target (the unsync step refused first).
  expect(await hasColumn(url, 'public.users', 'address')).toBe(true);
  await query(url, `UPDATE public.profiles SET address = 'new street 3' WHERE user_id = 3`);
  expect(await query(url, `SELECT address FROM public.users WHERE id = 3`)).toEqual([{ address: 'new street 3' }]);
  expect((await ok('status')).stdout).toContain('guard trigger-definitions');

  // The team drops the trigger: phase 3 goes through and the application's writes keep working.
  await query(url, `DROP TRIGGER users_fts ON public.users`);
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(false);
  await query(url, `INSERT INTO public.users (id) VALUES (21)`);
}, 300_000);

test('rename: triggers created after plan naming the old column (argument, UPDATE OF) stop phase 3 until re-pointed', async () => {
  const { url, run, ok } = await throughPhaseTwo(
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text, fts tsvector, touched int NOT NULL DEFAULT 0);
     INSERT INTO public.users SELECT g, 'title ' || g FROM generate_series(1, 20) g;
     CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN NEW.touched := NEW.touched + 1; RETURN NEW; END $$;`,
    ['rename', 'users.job_title', 'title', '--id', 'jt'],
  );
  await query(
    url,
    `CREATE TRIGGER users_fts BEFORE INSERT OR UPDATE ON public.users FOR EACH ROW
       EXECUTE FUNCTION tsvector_update_trigger(fts, 'pg_catalog.simple', job_title);
     CREATE TRIGGER users_touch BEFORE UPDATE OF job_title ON public.users FOR EACH ROW EXECUTE FUNCTION public.touch();`,
  );

  await ok('advance', '--release', '1.2.0');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout).toBe(3);
  expect(refused.stderr).toContain(
    'change jt cannot drop "job_title": trigger users_fts on public.users (an argument); ' +
      'trigger users_touch on public.users (UPDATE OF or WHEN) names it in its definition',
  );
  expect(refused.stderr).toContain('re-create each naming title instead of job_title');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(true);

  // Re-pointed at the new column (the two hold the same values): phase 3 goes through, the triggers keep working.
  await query(
    url,
    `CREATE OR REPLACE TRIGGER users_fts BEFORE INSERT OR UPDATE ON public.users FOR EACH ROW
       EXECUTE FUNCTION tsvector_update_trigger(fts, 'pg_catalog.simple', title);
     CREATE OR REPLACE TRIGGER users_touch BEFORE UPDATE OF title ON public.users FOR EACH ROW EXECUTE FUNCTION public.touch();`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(false);
  await query(url, `INSERT INTO public.users (id, title) VALUES (21, 'chief cook')`);
  await query(url, `UPDATE public.users SET title = 'head chef' WHERE id = 21`);
  expect(await query(url, `SELECT fts::text AS fts, touched FROM public.users WHERE id = 21`)).toEqual([
    { fts: "'chef':2 'head':1", touched: 1 },
  ]);
}, 300_000);
