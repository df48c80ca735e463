import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * Phase 3's down (restore-column) adds the old column back, last: the row of the table has one value more again. A
 * function written after phase 3 that writes the whole row into another table by position (an audit trigger's
 * `INSERT INTO audit VALUES (NEW.*)`, its audit table made `LIKE` the contracted table) would then fail, and with it
 * every write of the table. The rollback refuses before its first down file, as phase 1's expand does.
 */
const cleanups = cleanupsAfterAll();

test('rollback of a rename phase 3: an audit trigger written after phase 3 is refused before the column comes back', async () => {
  const folder = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text, note text);
     INSERT INTO public.users SELECT g, 'title ' || g, 'note ' || g FROM generate_series(1, 20) g;`,
    'phasectl-rollback-whole-row-',
  );
  const { url, run, ok } = folder;
  await ok('init');
  await ok('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.1.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.2.0');
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(false);
  // After phase 3: an audit table of the contracted shape and a trigger writing the whole row into it.
  await query(
    url,
    `CREATE TABLE public.users_audit (LIKE public.users);
     CREATE FUNCTION public.aud() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.users_audit VALUES (NEW.*);
       RETURN NEW;
     END $$;
     CREATE TRIGGER users_audit AFTER UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.aud();
     UPDATE public.users SET note = 'audited' WHERE id = 1;`,
  );
  const refused = await run('rollback', '--release', '1.2.0', '--yes', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'change jt cannot add "job_title" back to "public"."users": function public.aud() writes the whole row of "public"."users" into another table by position',
  );
  expect(refused.stderr).toContain('public.aud(), line 3 of its body: INSERT INTO public.users_audit VALUES (NEW.*)');
  // Nothing changed: the application's updates work.
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(false);
  await query(url, `UPDATE public.users SET note = 'changed' WHERE id = 2`);

  // Named columns: the rollback goes through and updates keep working.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.aud() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.users_audit (id, note, title) VALUES (NEW.id, NEW.note, NEW.title);
       RETURN NEW;
     END $$`,
  );
  await ok('rollback', '--release', '1.2.0', '--yes', '--quiet');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(true);
  await query(url, `UPDATE public.users SET note = 'again' WHERE id = 3`);
  expect(await query(url, `SELECT job_title, title FROM public.users WHERE id = 3`)).toEqual([
    { job_title: 'title 3', title: 'title 3' },
  ]);
}, 300_000);

test('rollback of a move phase 3: an audit trigger on the source written after phase 3 is refused; the exemption lets it through', async () => {
  const { url, run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, address text, note text);
     CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE);
     INSERT INTO public.users SELECT g, 'street ' || g, 'n' || g FROM generate_series(1, 5) g;
     INSERT INTO public.profiles SELECT g, g FROM generate_series(1, 5) g;`,
    'phasectl-rollback-whole-row-',
  );
  await ok('init');
  await ok('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.1.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '1.2.0');
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(false);
  await query(
    url,
    `CREATE TABLE public.users_audit (LIKE public.users);
     CREATE FUNCTION public.aud() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       INSERT INTO public.users_audit SELECT NEW.*;
       RETURN NEW;
     END $$;
     CREATE TRIGGER users_audit AFTER INSERT OR UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.aud();`,
  );
  const refused = await run('rollback', '--release', '1.2.0', '--yes', '--quiet');
  expect(refused.code, refused.stdout + refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'change addr cannot add "address" back to "public"."users": function public.aud() writes the whole row of "public"."users" into another table by position',
  );
  expect(refused.stderr).toContain("COMMENT ON FUNCTION … IS 'phasectl: not addr'");
  expect(await hasColumn(url, 'public.users', 'address')).toBe(false);
  await query(url, `INSERT INTO public.users (id, note) VALUES (6, 'n6')`);

  // The team gives the audit table the column too and says the function is right as it is: the rollback goes through.
  await query(
    url,
    `ALTER TABLE public.users_audit ADD COLUMN address text;
     COMMENT ON FUNCTION public.aud() IS 'phasectl: not addr'`,
  );
  await ok('rollback', '--release', '1.2.0', '--yes', '--quiet');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(true);
  expect(await query(url, `SELECT address FROM public.users WHERE id = 2`)).toEqual([{ address: 'street 2' }]);
}, 300_000);
