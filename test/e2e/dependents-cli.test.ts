import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * Issue 12 items 2 and 4 through the built CLI: foreign keys of other tables that reference the renamed column are
 * carried (copied onto the new column in phase 1, the original dropped in phase 3, the downs restore them), and
 * functions whose body names the column are listed at plan and block phase 3 until they are rewritten.
 */
const cleanups = cleanupsAfterAll();

const SCHEMA = `
  CREATE TABLE public.users (id bigint PRIMARY KEY, email text NOT NULL CONSTRAINT users_email_key UNIQUE, name text, fts tsvector);
  CREATE TABLE public.email_changes (n int NOT NULL);
  INSERT INTO public.email_changes VALUES (0);
  CREATE FUNCTION public.count_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN UPDATE public.email_changes SET n = n + 1; RETURN NULL; END $$;
  -- Triggers naming the column in their arguments, UPDATE OF list and WHEN clause: re-created on the new column.
  CREATE TRIGGER users_fts BEFORE INSERT OR UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION tsvector_update_trigger(fts, 'pg_catalog.simple', email, name);
  CREATE TRIGGER users_email_changed AFTER UPDATE OF email ON public.users FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION public.count_change();
  CREATE TABLE public.orders (id bigint PRIMARY KEY, user_email text,
    CONSTRAINT orders_user_email_fkey FOREIGN KEY (user_email) REFERENCES public.users (email) MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL);
  CREATE TABLE public.audits (id bigint PRIMARY KEY, who text,
    CONSTRAINT audits_who_fkey FOREIGN KEY (who) REFERENCES public.users (email) DEFERRABLE INITIALLY DEFERRED);
  CREATE TABLE public.contacts (id bigint PRIMARY KEY, email text);
  INSERT INTO public.users SELECT g, 'u' || g || '@x', 'n' || g FROM generate_series(1, 50) g;
  INSERT INTO public.orders SELECT g, 'u' || (g % 50 + 1) || '@x' FROM generate_series(1, 100) g;
  INSERT INTO public.audits VALUES (1, 'u1@x');
  INSERT INTO public.contacts VALUES (1, 'c@x');
  -- Names users.email: work before phase 3.
  CREATE FUNCTION public.email_of(p_id bigint) RETURNS text LANGUAGE plpgsql AS $$
  DECLARE
    result text;
  BEGIN
    SELECT u.email INTO result FROM public.users u WHERE u.id = p_id;
    RETURN result;
  END $$;
  -- Same-named column of another table, and users.email only in a comment: not work.
  CREATE FUNCTION public.contact_emails() RETURNS bigint LANGUAGE sql AS $$
    -- unlike public.users.email, this reads contacts
    SELECT count(email) FROM public.contacts
  $$;
`;

const constraintsOf = async (url: string, table: string) =>
  await query<{ name: string; definition: string; validated: boolean }>(
    url,
    `SELECT conname AS name, pg_get_constraintdef(oid) AS definition, convalidated AS validated FROM pg_constraint
     WHERE conrelid = $1::regclass AND contype = 'f' ORDER BY 1`,
    [table],
  );

test('foreign keys are carried and functions guard phase 3, through three phases and back', async () => {
  const { url, dir, run, ok } = await databaseWithFolder(cleanups, SCHEMA, 'phasectl-dependents-');
  const originalOrders = await constraintsOf(url, 'public.orders');
  const originalAudits = await constraintsOf(url, 'public.audits');
  const triggersOf = async () =>
    query<{ name: string; definition: string }>(
      url,
      `SELECT tgname AS name, pg_get_triggerdef(oid) AS definition FROM pg_trigger WHERE tgrelid = 'public.users'::regclass AND NOT tgisinternal AND tgname NOT LIKE 'zz_phasectl%' ORDER BY 1`,
    );
  const originalTriggers = await triggersOf();

  await ok('init');
  const plan = await ok('plan', 'rename', 'users.email', 'contact_email', '--id', 'users-email');
  expect(plan.stdout).toContain('public.email_of(bigint), line 5 of its body');
  expect(plan.stdout).not.toContain('contact_emails()');
  expect(plan.stdout).toContain(
    'carried: foreign key audits_who_fkey on public.audits, orders_user_email_fkey on public.orders',
  );
  expect(plan.stdout).toContain(
    'carried: trigger users_email_changed, users_fts — re-created on contact_email in phase 3',
  );
  const yaml = await readFile(join(dir, 'phases.yaml'), 'utf8');
  expect(yaml).toContain(
    'definition: FOREIGN KEY (user_email) REFERENCES public.users(email) MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL',
  );

  // Phase 1: both keys hold; the copies are validated.
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  expect(await constraintsOf(url, 'public.orders')).toEqual([
    ...originalOrders,
    {
      name: 'orders_user_email_fkey_contact_email',
      definition:
        'FOREIGN KEY (user_email) REFERENCES users(contact_email) MATCH FULL ON UPDATE CASCADE ON DELETE SET NULL',
      validated: true,
    },
  ]);
  expect(await constraintsOf(url, 'public.audits')).toEqual([
    ...originalAudits,
    {
      name: 'audits_who_fkey_contact_email',
      definition: 'FOREIGN KEY (who) REFERENCES users(contact_email) DEFERRABLE INITIALLY DEFERRED',
      validated: true,
    },
  ]);
  // An old-release key update cascades through both keys while both exist.
  await query(url, `UPDATE public.users SET email = 'moved1@x' WHERE id = 5`);
  expect(await query(url, `SELECT count(*)::int AS n FROM public.orders WHERE user_email = 'moved1@x'`)).toEqual([
    { n: 2 },
  ]);
  expect(await query(url, `SELECT contact_email FROM public.users WHERE id = 5`)).toEqual([
    { contact_email: 'moved1@x' },
  ]);
  const orphan = await query(url, `INSERT INTO public.orders VALUES (1000, 'nobody@x')`).then(
    () => 'inserted',
    (error: Error) => error.message,
  );
  expect(orphan).toContain('violates foreign key constraint');

  // Phase 2: a new-release key update cascades too.
  await ok('advance', '--release', '1.1.0');
  await ok('migrate', '--quiet');
  await query(url, `UPDATE public.users SET contact_email = 'moved2@x' WHERE id = 2`);
  expect(await query(url, `SELECT count(*)::int AS n FROM public.orders WHERE user_email = 'moved2@x'`)).toEqual([
    { n: 2 },
  ]);
  const afterPhase2 = {
    orders: await constraintsOf(url, 'public.orders'),
    audits: await constraintsOf(url, 'public.audits'),
  };

  // Phase 3 refuses while a function names the column: exit 3, nothing dropped.
  await ok('advance', '--release', '1.2.0');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('function public.email_of(bigint) still names it');
  expect(refused.stderr).toContain('COMMENT ON FUNCTION');
  expect(
    await query(
      url,
      `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'email' AND NOT attisdropped`,
    ),
  ).toEqual([{ n: 1 }]);
  expect(await constraintsOf(url, 'public.orders')).toEqual(afterPhase2.orders);

  // The team rewrites it (their own migration in the release of phase 3 would do the same): phase 3 goes through.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.email_of(p_id bigint) RETURNS text LANGUAGE plpgsql AS $$
    DECLARE result text;
    BEGIN
      SELECT u.contact_email INTO result FROM public.users u WHERE u.id = p_id;
      RETURN result;
    END $$`,
  );
  await ok('migrate', '--quiet');
  expect(await constraintsOf(url, 'public.orders')).toEqual([afterPhase2.orders[1]]);
  expect(await constraintsOf(url, 'public.audits')).toEqual([afterPhase2.audits[1]]);
  expect(await query(url, `SELECT public.email_of(3) AS e, public.contact_emails() AS c`)).toEqual([
    { e: 'u3@x', c: '1' },
  ]);
  await query(url, `UPDATE public.users SET contact_email = 'moved3@x' WHERE id = 3`);
  expect(await query(url, `SELECT count(*)::int AS n FROM public.orders WHERE user_email = 'moved3@x'`)).toEqual([
    { n: 2 },
  ]);
  expect(await triggersOf()).toEqual([
    {
      name: 'users_email_changed',
      definition:
        'CREATE TRIGGER users_email_changed AFTER UPDATE OF contact_email ON public.users FOR EACH ROW WHEN ((old.contact_email IS DISTINCT FROM new.contact_email)) EXECUTE FUNCTION count_change()',
    },
    {
      name: 'users_fts',
      definition:
        "CREATE TRIGGER users_fts BEFORE INSERT OR UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION tsvector_update_trigger('fts', 'pg_catalog.simple', 'contact_email', 'name')",
    },
  ]);
  const changesBefore = (await query<{ n: number }>(url, 'SELECT n FROM public.email_changes'))[0]!.n;
  await query(url, `UPDATE public.users SET contact_email = 'searchable@x' WHERE id = 4`);
  expect(await query(url, `SELECT fts @@ 'searchable'::tsquery AS found FROM public.users WHERE id = 4`)).toEqual([
    { found: true },
  ]);
  expect(await query(url, 'SELECT n FROM public.email_changes')).toEqual([{ n: changesBefore + 1 }]);
  const orphanAfter = await query(url, `INSERT INTO public.orders VALUES (1001, 'nobody@x')`).then(
    () => 'inserted',
    (error: Error) => error.message,
  );
  expect(orphanAfter).toContain('violates foreign key constraint');

  // Down of phase 3 restores the original keys; down of phase 1 removes the copies: the catalog as it was.
  await ok('rollback', '--release', '1.2.0', '--yes', '--quiet');
  expect(await triggersOf()).toEqual(originalTriggers);
  expect(await constraintsOf(url, 'public.orders')).toEqual(afterPhase2.orders);
  expect(await constraintsOf(url, 'public.audits')).toEqual(afterPhase2.audits);
  await ok('rollback', '--release', '1.1.0', '--yes', '--quiet');
  await ok('rollback', '--release', '1.0.0', '--yes', '--quiet');
  expect(await constraintsOf(url, 'public.orders')).toEqual(originalOrders);
  expect(await constraintsOf(url, 'public.audits')).toEqual(originalAudits);
}, 300_000);
