import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * Issue 12 item 3's last point: a user BEFORE trigger that sorts after phasectl's default sync trigger name is no
 * longer a refusal. `plan` records a sync trigger name that sorts after it; phase 1 re-checks the order at migrate
 * time (exit 3 naming a trigger created since), and the sync copies the values the user trigger set.
 */
const cleanups = cleanupsAfterAll();

test('a BEFORE trigger sorting after zz_phasectl_sync_: plan records a later name, migrate re-checks, values are copied', async () => {
  const { url, dir, run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.items (id bigint PRIMARY KEY, title text);
     INSERT INTO public.items SELECT g, 'ITEM ' || g FROM generate_series(1, 20) g;
     CREATE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       NEW.title := upper(NEW.title);
       RETURN NEW;
     END $$;
     CREATE TRIGGER zz_zebra_shout BEFORE INSERT OR UPDATE ON public.items FOR EACH ROW EXECUTE FUNCTION public.shout();`,
    'phasectl-trigger-order-',
  );
  await ok('init');
  const plan = await ok('plan', 'rename', 'public.items.title', 'name', '--id', 'items-title');
  expect(plan.stdout).toContain('the sync triggers are named zzz_phasectl_sync_items_title');
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toContain('syncTrigger: zzz_phasectl_sync_items_title');
  await ok('advance', '--release', '1.0.0');

  // A trigger created after plan that sorts after the recorded name: phase 1 stops, naming it.
  await query(
    url,
    `CREATE TRIGGER zzzz_late BEFORE UPDATE ON public.items FOR EACH ROW EXECUTE FUNCTION public.shout()`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('BEFORE row trigger zzzz_late on public.items fires after the sync trigger');
  expect(await query(url, `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE '%phasectl_sync%'`)).toEqual([
    { n: 0 },
  ]);
  await query(url, `DROP TRIGGER zzzz_late ON public.items`);
  await ok('migrate', '--quiet');

  // The sync triggers fire after zz_zebra_shout: both columns hold what it set (it reads the old column only).
  await query(
    url,
    `INSERT INTO public.items (id, title) VALUES (100, 'old code');
     INSERT INTO public.items (id, name) VALUES (101, 'new code');
     UPDATE public.items SET title = 'old update' WHERE id = 1;
     UPDATE public.items SET name = 'new update' WHERE id = 2;`,
  );
  expect(
    await query(url, `SELECT id::int, title, name FROM public.items WHERE id IN (1, 2, 3, 100, 101) ORDER BY id`),
  ).toEqual([
    { id: 1, title: 'OLD UPDATE', name: 'OLD UPDATE' },
    { id: 2, title: 'new update', name: 'new update' },
    { id: 3, title: 'ITEM 3', name: 'ITEM 3' },
    { id: 100, title: 'OLD CODE', name: 'OLD CODE' },
    { id: 101, title: 'new code', name: 'new code' },
  ]);

  // Through phases 2 and 3: the recorded triggers are the ones dropped; the column is renamed.
  await ok('advance', '--release', '2.0.0');
  await ok('migrate', '--quiet');
  // The team moves its trigger function to the new column in phase 2's release (phase 3 refuses otherwise).
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.shout() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       NEW.name := upper(NEW.name);
       RETURN NEW;
     END $$`,
  );
  await ok('advance', '--release', '3.0.0');
  await ok('migrate', '--quiet');
  expect(
    await query(url, `SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.items'::regclass AND NOT tgisinternal`),
  ).toEqual([{ tgname: 'zz_zebra_shout' }]);
  expect(await query(url, `SELECT name FROM public.items WHERE id = 100`)).toEqual([{ name: 'OLD CODE' }]);
}, 180_000);

test('a long id with a long recorded name: the $copy trigger still fires after the update trigger, no write is lost', async () => {
  const id = `${'a'.repeat(20)}-${'b'.repeat(19)}`; // 40 characters, the longest id
  const { url, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.items (id bigint PRIMARY KEY, title text);
     INSERT INTO public.items SELECT g, 'item ' || g FROM generate_series(1, 5) g;
     CREATE FUNCTION public.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     -- Inserts only: the update triggers keep their column lists (and the $copy trigger).
     CREATE TRIGGER zzzz_stamp BEFORE INSERT ON public.items FOR EACH ROW EXECUTE FUNCTION public.stamp();`,
    'phasectl-trigger-order-long-',
  );
  await ok('init');
  await ok('plan', 'rename', 'public.items.title', 'name', '--id', id);
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  const triggers = await query<{ tgname: string }>(
    url,
    `SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.items'::regclass AND tgname LIKE 'zzzzz%' ORDER BY tgname COLLATE "C"`,
  );
  // The $copy trigger's name is cut to 63 bytes (`~` and a hash) and sorts after the update trigger's: it fires second.
  const names = triggers.map((t) => t.tgname);
  const update = names.indexOf(`zzzzz_phasectl_sync_${id.replace('-', '_')}`);
  const copy = names.findIndex((name) => /^zzzzz_phasectl_sync_a+_b+~[0-9a-f]{8}$/.test(name));
  expect(names).toHaveLength(3);
  expect(update).toBeGreaterThanOrEqual(0);
  expect(copy).toBeGreaterThan(update);
  // An update that names both columns and changes only the new one: the new value wins in both columns.
  await query(url, `UPDATE public.items SET title = title, name = 'written' WHERE id = 1`);
  expect(await query(url, `SELECT title, name FROM public.items WHERE id = 1`)).toEqual([
    { title: 'written', name: 'written' },
  ]);
});
