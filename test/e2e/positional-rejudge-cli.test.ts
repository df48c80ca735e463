import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * The SQL guards of phase 1 (whole row) and phase 3 (column order) pass a flagged function once its body differs from
 * plan's (md5): a comment added or a reformatting keeps the positional write and passes them, and a function created
 * after plan is not seen at all. phasectl's runner reads the functions again before those files and judges them with
 * the parser: refused while one still (or now) writes by position; named columns pass.
 */
const cleanups = cleanupsAfterAll();

async function planned(schema: string, plan: string[]) {
  const folder = await databaseWithFolder(cleanups, schema, 'phasectl-rejudge-');
  await folder.ok('init');
  await folder.ok('plan', ...plan);
  await folder.ok('advance', '--release', '1.0.0');
  return folder;
}

test('rename phase 1: an audit trigger writing OLD.* re-created with a comment after plan is still refused', async () => {
  const { url, run, ok } = await planned(
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text, note text);
     CREATE TABLE public.users_audit (id bigint, job_title text, note text);
     CREATE FUNCTION public.aud() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.users_audit VALUES (OLD.*);
       RETURN NEW;
     END $$;
     CREATE TRIGGER users_audit AFTER UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.aud();
     INSERT INTO public.users SELECT g, 'title ' || g, 'note ' || g FROM generate_series(1, 20) g;`,
    ['rename', 'users.job_title', 'title', '--id', 'jt'],
  );
  // After plan: the same write, with a comment (md5 differs from plan's record).
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.aud() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       -- keep a copy of the old row
       INSERT INTO public.users_audit VALUES (OLD.*);
       RETURN NEW;
     END $$`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'change jt cannot add "title" to "public"."users": function public.aud() writes the whole row of "public"."users" into another table by position',
  );
  expect(refused.stderr).toContain('name the columns');
  expect(refused.stderr).toContain('public.aud(), line 4 of its body: INSERT INTO public.users_audit VALUES (OLD.*)');
  // Nothing changed; the application's updates work; status names the guard.
  expect(await hasColumn(url, 'public.users', 'title')).toBe(false);
  await query(url, `UPDATE public.users SET note = 'changed' WHERE id = 1`);
  expect((await ok('status')).stdout).toContain('guard whole-row');

  // Named columns: phase 1 goes through and updates keep working.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.aud() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.users_audit (id, job_title, note) VALUES (OLD.id, OLD.job_title, OLD.note);
       RETURN NEW;
     END $$`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'title')).toBe(true);
  await query(url, `UPDATE public.users SET note = 'again' WHERE id = 1`);
}, 300_000);

test('rename phase 3: a positional INSERT reformatted after plan, and one created after plan, are refused; named columns pass', async () => {
  const { url, run, ok } = await planned(
    `CREATE TABLE public.users (id int PRIMARY KEY, job_title text, note text);
     CREATE FUNCTION public.add_user(i int, t text, n text) RETURNS void LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.users VALUES (i, t, n);
     END $$;
     INSERT INTO public.users VALUES (1, 'dev', 'first');`,
    ['rename', 'users.job_title', 'title', '--id', 'jt'],
  );
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.1.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.2.0');
  // Reformatted: the same positional INSERT on one line.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.add_user(i int, t text, n text) RETURNS void LANGUAGE plpgsql AS $$
     BEGIN INSERT INTO public.users VALUES (i, t, n); END $$`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'change jt cannot drop "job_title": function public.add_user(integer,text,text) maps the columns of "public"."users" by position',
  );
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(true);
  expect((await ok('status')).stdout).toContain('guard column-order');

  // Fixed; another positional function appears after plan (a SQL function this time): refused too.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.add_user(i int, t text, n text) RETURNS void LANGUAGE plpgsql AS $$
     BEGIN INSERT INTO public.users (id, title, note) VALUES (i, t, n); END $$;
     CREATE FUNCTION public.add_user2(i int, t text, n text) RETURNS void LANGUAGE sql AS $$
       INSERT INTO public.users VALUES (i, t, n, t) $$;`,
  );
  const late = await run('migrate', '--quiet');
  expect(late.code, late.stdout + late.stderr).toBe(3);
  expect(late.stderr).toContain(
    'change jt cannot drop "job_title": function public.add_user2(integer,text,text) maps the columns of "public"."users" by position',
  );
  expect(late.stderr).not.toContain('public.add_user(integer');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(true);

  // Named columns: phase 3 goes through and each value lands where it is meant to.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.add_user2(i int, t text, n text) RETURNS void LANGUAGE sql AS $$
       INSERT INTO public.users (id, title, note) VALUES (i, t, n) $$`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(false);
  await query(url, `SELECT public.add_user(2, 'ops', 'second'), public.add_user2(3, 'qa', 'third')`);
  expect(await query(url, `SELECT id, title, note FROM public.users ORDER BY id`)).toEqual([
    { id: 1, title: 'dev', note: 'first' },
    { id: 2, title: 'ops', note: 'second' },
    { id: 3, title: 'qa', note: 'third' },
  ]);
}, 300_000);

test('rename phase 3 of the last column: a positional INSERT that fills the table as it was stays fine', async () => {
  const { url, ok } = await planned(
    `CREATE TABLE public.users (id int PRIMARY KEY, note text, job_title text);
     CREATE FUNCTION public.add_user(i int, n text, t text) RETURNS void LANGUAGE sql AS $$
       INSERT INTO public.users VALUES (i, n, t) $$;
     INSERT INTO public.users VALUES (1, 'first', 'dev');`,
    ['rename', 'users.job_title', 'title', '--id', 'jt'],
  );
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.1.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.2.0');
  await ok('migrate', '--quiet');
  await query(url, `SELECT public.add_user(2, 'second', 'ops')`);
  expect(await query(url, `SELECT id, note, title FROM public.users ORDER BY id`)).toEqual([
    { id: 1, note: 'first', title: 'dev' },
    { id: 2, note: 'second', title: 'ops' },
  ]);
}, 300_000);

test('move phase 1: an audit trigger on the target re-created with a comment after plan is still refused', async () => {
  const { url, run, ok } = await planned(
    `CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
     CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE, bio text);
     CREATE TABLE public.profiles_audit (id bigint, user_id bigint, bio text, changed_at timestamptz DEFAULT now());
     CREATE FUNCTION public.audit_profiles() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.profiles_audit SELECT OLD.*;
       RETURN NEW;
     END $$;
     CREATE TRIGGER profiles_audit AFTER UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION public.audit_profiles();
     INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 20) g;
     INSERT INTO public.profiles SELECT g, g, 'bio ' || g FROM generate_series(1, 20) g;`,
    ['move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr'],
  );
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.audit_profiles() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.profiles_audit SELECT OLD.*; -- audit
       RETURN NEW;
     END $$`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'change addr cannot add "address" to "public"."profiles": function public.audit_profiles() writes the whole row of "public"."profiles" into another table by position',
  );
  expect(await hasColumn(url, 'public.profiles', 'address')).toBe(false);
  await query(url, `UPDATE public.profiles SET bio = 'x' WHERE id = 1`);

  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.audit_profiles() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.profiles_audit (id, user_id, bio) VALUES (OLD.id, OLD.user_id, OLD.bio);
       RETURN NEW;
     END $$`,
  );
  await ok('migrate', '--quiet');
  expect(await query(url, `SELECT address FROM public.profiles WHERE user_id = 3`)).toEqual([{ address: 'street 3' }]);
  await query(url, `UPDATE public.profiles SET bio = 'y' WHERE id = 1`);
}, 300_000);

test('move phase 3: a positional INSERT into the source created after plan is refused before the sync goes', async () => {
  const { url, run, ok } = await planned(
    `CREATE TABLE public.users (id bigint PRIMARY KEY, address text, note text);
     CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE);
     INSERT INTO public.users SELECT g, 'street ' || g, 'n' || g FROM generate_series(1, 5) g;
     INSERT INTO public.profiles SELECT g, g FROM generate_series(1, 5) g;`,
    ['move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr'],
  );
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.1.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.2.0');
  await query(
    url,
    `CREATE FUNCTION public.add_user(i bigint, a text, n text) RETURNS void LANGUAGE sql AS $$
       INSERT INTO public.users VALUES (i, a, n) $$`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'change addr cannot drop "address": function public.add_user(bigint,text,text) maps the columns of "public"."users" by position',
  );
  // Refused before the unsync: the sync trigger on the target and the column are still there.
  expect(await hasColumn(url, 'public.users', 'address')).toBe(true);
  expect(
    await query(
      url,
      `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'public.profiles'::regclass AND NOT tgisinternal`,
    ),
  ).not.toEqual([{ n: 0 }]);

  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.add_user(i bigint, a text, n text) RETURNS void LANGUAGE sql AS $$
       INSERT INTO public.users (id, note) VALUES (i, n) $$`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(false);
  await query(url, `SELECT public.add_user(6, 'street 6', 'n6')`);
  expect(await query(url, `SELECT note FROM public.users WHERE id = 6`)).toEqual([{ note: 'n6' }]);
}, 300_000);
