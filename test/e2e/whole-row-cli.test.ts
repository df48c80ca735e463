import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * An audit trigger that writes the whole row of the table into another table by position (`INSERT INTO users_audit
 * VALUES (OLD.*)`) breaks as soon as phase 1 adds the new column: the row has one value more, so every UPDATE of the
 * table fails ("INSERT has more expressions than target columns"; the backfill's first batch too). Phase 1's expand
 * refuses while such a function is as plan read it, before anything is added; named columns (or the exemption mark,
 * once the other table has the column too) let it through.
 */
const cleanups = cleanupsAfterAll();

const renameSchema = `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text, note text);
  CREATE TABLE public.users_audit (id bigint, job_title text, note text);
  CREATE FUNCTION public.audit_users() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO public.users_audit VALUES (OLD.*);
    RETURN NEW;
  END $$;
  CREATE TRIGGER users_audit AFTER UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.audit_users();
  INSERT INTO public.users SELECT g, 'title ' || g, 'note ' || g FROM generate_series(1, 20) g;`;

async function planned(schema: string, plan: string[]) {
  const folder = await databaseWithFolder(cleanups, schema, 'phasectl-whole-row-');
  await folder.ok('init');
  const planOutput = await folder.ok('plan', ...plan);
  await folder.ok('advance', '--release', '1.0.0');
  return { ...folder, planOutput: planOutput.stdout };
}

const syncTriggers = async (url: string, table: string) =>
  (
    await query<{ n: number }>(
      url,
      `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = '${table}'::regclass AND tgname LIKE 'phasectl%'`,
    )
  )[0]!.n;

test('rename: an audit trigger writing OLD.* by position stops phase 1 before anything is added, until it names the columns', async () => {
  const { url, run, ok, planOutput } = await planned(renameSchema, [
    'rename',
    'users.job_title',
    'title',
    '--id',
    'jt',
  ]);
  expect(planOutput).toContain('work before phase 1 ships: 1 function(s) write the whole row of public.users');
  expect(planOutput).toContain(
    '  - public.audit_users(), line 3 of its body: INSERT INTO public.users_audit VALUES (OLD.*)',
  );

  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'change jt cannot add "title" to "public"."users": function public.audit_users() writes the whole row of "public"."users" into another table by position',
  );
  expect(refused.stderr).toContain('name the columns');
  expect(refused.stderr).toContain(`COMMENT ON FUNCTION … IS 'phasectl: not jt'`);
  // Nothing changed: no new column, no sync trigger; the application's updates work as before.
  expect(await hasColumn(url, 'public.users', 'title')).toBe(false);
  expect(await syncTriggers(url, 'public.users')).toBe(0);
  await query(url, `UPDATE public.users SET note = 'changed' WHERE id = 1`);
  expect((await ok('status')).stdout).toContain('guard whole-row');

  // Named columns: phase 1 goes through (backfill included) and the application's updates keep working.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.audit_users() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.users_audit (id, job_title, note) VALUES (OLD.id, OLD.job_title, OLD.note);
       RETURN NEW;
     END $$`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'title')).toBe(true);
  await query(url, `UPDATE public.users SET job_title = 'chief' WHERE id = 2`);
  expect(await query(url, `SELECT title FROM public.users WHERE id = 2`)).toEqual([{ title: 'chief' }]);
  expect(await query(url, `SELECT job_title FROM public.users_audit WHERE id = 2 ORDER BY job_title`)).toContainEqual({
    job_title: 'title 2',
  });

  // A refresh after phase 1 is out keeps phase 1's files as they were (a database applied them), and the changed
  // function, which names job_title now, is work before phase 3.
  const refresh = await ok('plan', 'refresh', 'jt');
  expect(refresh.stdout).toContain('public.audit_users()');
  expect(refresh.stdout).not.toContain('work before phase 1 ships');
  expect((await run('generate', '--check')).code).toBe(0);
  await ok('advance', '--release', '1.1.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.2.0');
  const phase3 = await run('migrate', '--quiet');
  expect(phase3.code).toBe(3);
  expect(phase3.stderr).toContain('trigger users_audit runs public.audit_users() still names it');
}, 300_000);

test('rename: what the refusal prevents (the same function exempted by hand): phase 1 applies, then every update fails', async () => {
  const { url, run, ok } = await planned(renameSchema, ['rename', 'users.job_title', 'title', '--id', 'jt']);
  // Exempted by hand while the audit table still has the old columns: phase 1 adds the column, then every update fails.
  await query(url, `COMMENT ON FUNCTION public.audit_users() IS 'phasectl: not jt'`);
  const failed = await run('migrate', '--quiet');
  expect(failed.code).not.toBe(0);
  expect(failed.stderr).toContain('INSERT has more expressions than target columns');
  expect(await hasColumn(url, 'public.users', 'title')).toBe(true);
  await expect(query(url, `UPDATE public.users SET note = 'x' WHERE id = 1`)).rejects.toThrow(
    /more expressions than target columns/,
  );
  // Undone: the application's updates work again.
  await ok('rollback', '--release', '1.0.0', '--yes');
  expect(await hasColumn(url, 'public.users', 'title')).toBe(false);
  await query(url, `UPDATE public.users SET note = 'x' WHERE id = 1`);
}, 300_000);

test('move: an audit trigger on the target table writing OLD.* by position stops phase 1 before the target gains the column', async () => {
  const { url, run, ok, planOutput } = await planned(
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
  expect(planOutput).toContain('work before phase 1 ships: 1 function(s) write the whole row of public.profiles');

  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'change addr cannot add "address" to "public"."profiles": function public.audit_profiles() writes the whole row of "public"."profiles" into another table by position',
  );
  expect(await hasColumn(url, 'public.profiles', 'address')).toBe(false);
  expect(await syncTriggers(url, 'public.users')).toBe(0);
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
