import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * Issue 12 for moves, through the built CLI: a function that reads the moved source column is listed at plan and
 * blocks phase 3 (exit 3, nothing dropped) until the team rewrites it, so it never breaks at its next call; a
 * trigger of the source table that names the column (arguments, UPDATE OF, WHEN) is refused at plan.
 */
const cleanups = cleanupsAfterAll();

const SCHEMA = `
  CREATE TABLE public.users (id bigint PRIMARY KEY, address text, fts tsvector);
  CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE);
  INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 30) g;
  INSERT INTO public.profiles SELECT g, g FROM generate_series(1, 30) g;
  -- Reads users.address: work before phase 3.
  CREATE FUNCTION public.address_of(p_id bigint) RETURNS text LANGUAGE plpgsql AS $$
  DECLARE
    result text;
  BEGIN
    SELECT u.address INTO result FROM public.users u WHERE u.id = p_id;
    RETURN result;
  END $$;
  CREATE FUNCTION public.count_addresses() RETURNS bigint LANGUAGE sql AS $$ SELECT count(address) FROM public.users $$;
`;

const project = (sql: string) => databaseWithFolder(cleanups, sql, 'phasectl-move-dependents-');

test('a function reading the moved column is listed at plan and blocks phase 3 until it is rewritten', async () => {
  const { url, dir, run, ok } = await project(SCHEMA);
  await ok('init');
  const plan = await ok('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr');
  expect(plan.stdout).toContain('2 function(s) name public.users.address');
  expect(plan.stdout).toContain('public.profiles.address (joined on profiles.user_id = users.id)');
  expect(plan.stdout).toContain('public.address_of(bigint), line 5 of its body');
  expect(plan.stdout).toContain('public.count_addresses()');
  const yaml = await readFile(join(dir, 'phases.yaml'), 'utf8');
  expect(yaml).toContain('name: public.address_of(bigint)');

  for (const release of ['1.0.0', '1.1.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  await query(url, `UPDATE public.profiles SET address = 'new street 7' WHERE user_id = 7`);

  // Phase 3 refuses while the functions read users.address: exit 3, each one listed, the column still there.
  await ok('advance', '--release', '1.2.0');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('function public.address_of(bigint); public.count_addresses() still names it');
  expect(refused.stderr).toContain('profiles.address');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(true);
  expect(await query(url, `SELECT public.address_of(7) AS a`)).toEqual([{ a: 'new street 7' }]);
  // Refused before the sync trigger on profiles went: a new-release write still reaches users.address.
  await query(url, `UPDATE public.profiles SET address = 'newer street 8' WHERE user_id = 8`);
  expect(await query(url, `SELECT address FROM public.users WHERE id = 8`)).toEqual([{ address: 'newer street 8' }]);

  // The team points them at the target table: phase 3 goes through and the functions keep working.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.address_of(p_id bigint) RETURNS text LANGUAGE plpgsql AS $$
    DECLARE result text;
    BEGIN
      SELECT p.address INTO result FROM public.profiles p WHERE p.user_id = p_id;
      RETURN result;
    END $$;
    CREATE OR REPLACE FUNCTION public.count_addresses() RETURNS bigint LANGUAGE sql AS $$ SELECT count(address) FROM public.profiles $$;`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(false);
  expect(await query(url, `SELECT public.address_of(7) AS a, public.count_addresses() AS n`)).toEqual([
    { a: 'new street 7', n: '30' },
  ]);
}, 300_000);

test('a trigger of the source table naming the moved column is refused at plan, named, with what to do', async () => {
  const { url, dir, run, ok } = await project(SCHEMA);
  await ok('init');
  const before = await readFile(join(dir, 'phases.yaml'), 'utf8');
  // In the arguments only: PostgreSQL records no dependency, DROP COLUMN would go through and break every write.
  await query(
    url,
    `CREATE TRIGGER users_fts BEFORE INSERT OR UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION tsvector_update_trigger(fts, 'pg_catalog.simple', address)`,
  );
  const byArgument = await run('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id');
  expect(byArgument.code, byArgument.stdout).toBe(2);
  expect(byArgument.stderr).toContain('trigger users_fts on public.users name(s) address');
  expect(byArgument.stderr).toContain('a move cannot re-create a trigger on another table');
  expect(byArgument.stderr).toContain('create what you need as a trigger on public.profiles');
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(before);

  // In UPDATE OF and WHEN: the same refusal, worded for a move.
  await query(
    url,
    `DROP TRIGGER users_fts ON public.users;
     CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     CREATE TRIGGER users_address_changed BEFORE UPDATE OF address ON public.users FOR EACH ROW
       WHEN (OLD.address IS DISTINCT FROM NEW.address) EXECUTE FUNCTION public.touch();`,
  );
  const byColumnList = await run('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id');
  expect(byColumnList.code, byColumnList.stdout).toBe(2);
  expect(byColumnList.stderr).toContain('trigger users_address_changed on public.users name(s) address');
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(before);
}, 300_000);

test('a view reading the moved column is listed at plan; phase 3 refuses until the team re-creates it on the target', async () => {
  const { url, run, ok } = await project(
    `${SCHEMA}
     CREATE VIEW public.user_cards AS SELECT u.id, upper(u.address) AS loud_address FROM public.users u;`,
  );
  await ok('init');
  const plan = await ok('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr');
  expect(plan.stdout).toContain('work before phase 3: 1 view(s) read public.users.address');
  expect(plan.stdout).toContain('LEFT JOIN public.profiles AS t ON t.user_id = s.id');
  expect(plan.stdout).toContain('  - public.user_cards');
  for (const release of ['1.0.0', '1.1.0', '1.2.0']) await ok('advance', '--release', release);
  await ok('migrate', '--to-release', '1.1.0', '--quiet');
  const rows = async () => query(url, 'SELECT * FROM public.user_cards ORDER BY id');
  const before = await rows();
  // The functions are the team's work too: point them at profiles, leave the view.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.address_of(p_id bigint) RETURNS text LANGUAGE sql AS $$ SELECT address FROM public.profiles WHERE user_id = p_id $$;
     CREATE OR REPLACE FUNCTION public.count_addresses() RETURNS bigint LANGUAGE sql AS $$ SELECT count(address) FROM public.profiles $$;`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('view public.user_cards still reads it');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(true);

  await query(
    url,
    `CREATE OR REPLACE VIEW public.user_cards AS
       SELECT s.id, upper(t.address) AS loud_address FROM public.users s LEFT JOIN public.profiles t ON t.user_id = s.id`,
  );
  expect(await rows()).toEqual(before);
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(false);
  expect(await rows()).toEqual(before);
}, 300_000);
