import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * `phasectl plan refresh <id>` reads again everything a change records under `dependents:` (views, generated
 * columns, foreign keys, functions, triggers), not the views only; it refuses a view or trigger another change in
 * flight records too (the shared-records check of plan), and it moves the views of older files from `column:` to
 * `dependents:`.
 */
const cleanups = cleanupsAfterAll();

async function project(schema: string) {
  const opened = await databaseWithFolder(cleanups, schema, 'phasectl-plan-refresh-');
  const { dir, ok } = opened;
  await ok('init');
  const change = async (id: string) =>
    (parse(await readFile(join(dir, 'phases.yaml'), 'utf8')) as { changes: Array<Record<string, any>> }).changes.find(
      (candidate) => candidate.id === id,
    )!;
  return { ...opened, change };
}

test('refresh records the functions, triggers, foreign keys and views created since plan; phase 3 then guards and carries them', async () => {
  const { url, run, ok, change } = await project(`
    CREATE TABLE public.notes (id bigint PRIMARY KEY, title text UNIQUE, body text);
    INSERT INTO public.notes SELECT g, 'note ' || g, 'body ' || g FROM generate_series(1, 20) g;
  `);
  await ok('plan', 'rename', 'notes.title', 'heading', '--id', 'notes-title');
  expect((await change('notes-title')).dependents).toEqual({ foreignKeys: [], functions: [] });

  await query(
    url,
    `CREATE FUNCTION public.title_of(p_id bigint) RETURNS text LANGUAGE sql AS $$ SELECT title FROM public.notes WHERE id = p_id $$;
     CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
     CREATE TRIGGER notes_title_changed BEFORE UPDATE OF title ON public.notes FOR EACH ROW EXECUTE FUNCTION public.touch();
     CREATE VIEW public.note_titles AS SELECT id, title FROM public.notes;
     CREATE TABLE public.links (id bigint PRIMARY KEY, note_title text REFERENCES public.notes (title));`,
  );
  const refresh = await ok('plan', 'refresh', 'notes-title');
  expect(refresh.stdout).toContain(
    'view public.note_titles, foreign key links_note_title_fkey on public.links, function public.title_of(bigint), trigger notes_title_changed',
  );
  expect(refresh.stdout).toContain('public.title_of(bigint), line 1 of its body');
  const record = (await change('notes-title')).dependents;
  expect(record.views.map((view: { name: string }) => view.name)).toEqual(['note_titles']);
  expect(record.foreignKeys.map((key: { name: string }) => key.name)).toEqual(['links_note_title_fkey']);
  expect(record.functions).toEqual([expect.objectContaining({ name: 'public.title_of(bigint)', namesColumn: true })]);
  expect(record.triggers.map((trigger: { name: string }) => trigger.name)).toEqual(['notes_title_changed']);

  // The refreshed record drives the phases: the key is copied, the function guards phase 3, the trigger is re-created.
  for (const release of ['1', '2', '3']) await ok('advance', '--release', release);
  await ok('migrate', '--to-release', '2', '--quiet');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('function public.title_of(bigint) still names it');
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.title_of(p_id bigint) RETURNS text LANGUAGE sql AS $$ SELECT heading FROM public.notes WHERE id = p_id $$`,
  );
  await ok('migrate', '--quiet');
  expect(
    await query(url, `SELECT public.title_of(3) AS t, (SELECT title FROM public.note_titles WHERE id = 3) AS v`),
  ).toEqual([{ t: 'note 3', v: 'note 3' }]);
  expect(
    await query(url, `SELECT pg_get_triggerdef(oid) AS d FROM pg_trigger WHERE tgname = 'notes_title_changed'`),
  ).toEqual([{ d: expect.stringContaining('BEFORE UPDATE OF heading ON public.notes') }]);
  expect(
    await query(
      url,
      `SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conrelid = 'public.links'::regclass AND contype = 'f'`,
    ),
  ).toEqual([{ d: 'FOREIGN KEY (note_title) REFERENCES notes(heading)' }]);
}, 300_000);

test("a view created in phase 2 after phase 3 was advanced: the refusal's fix (refresh, generate) renumbers the down files, generate removes the old ones, and migrate and the rollback run", async () => {
  const { url, dir, run, ok } = await project(`
    CREATE TABLE public.notes (id bigint PRIMARY KEY, title text NOT NULL, body text);
    CREATE INDEX notes_title_idx ON public.notes (title);
    INSERT INTO public.notes SELECT g, 'note ' || g, 'body ' || g FROM generate_series(1, 20) g;
  `);
  await ok('plan', 'rename', 'notes.title', 'heading', '--id', 'notes-title');
  for (const release of ['1', '2']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  await ok('advance', '--release', '3');
  await query(url, `CREATE VIEW public.note_titles AS SELECT id, title FROM public.notes`);
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('`phasectl plan refresh notes-title`, then `phasectl generate`');
  await ok('plan', 'refresh', 'notes-title');
  const generated = await ok('generate');
  // restore-views comes in as step 03 of phase 3's down; the steps after it move up one number.
  expect(generated.stdout).toContain('removed db/migrations/003_3_notes-title_p3_03_restore-indexes.down.sql');
  expect((await readdir(join(dir, 'db/migrations'))).filter((name) => name.includes('_p3_')).sort()).toEqual([
    '003_3_notes-title_p3_01_restore-column.down.sql',
    '003_3_notes-title_p3_01_verify.up.sql',
    '003_3_notes-title_p3_02_backfill-old.down.sql',
    '003_3_notes-title_p3_02_contract.up.sql',
    '003_3_notes-title_p3_03_restore-views.down.sql',
    '003_3_notes-title_p3_04_restore-indexes.down.sql',
    '003_3_notes-title_p3_05_restore-constraints.down.sql',
    '003_3_notes-title_p3_06_restore-validate.down.sql',
  ]);
  await ok('generate', '--check');
  await ok('migrate', '--quiet');
  expect(await query(url, `SELECT title FROM public.note_titles WHERE id = 3`)).toEqual([{ title: 'note 3' }]);
  await ok('rollback', '--release', '3', '--yes', '--quiet');
  expect(
    await query(url, `SELECT pg_get_viewdef('public.note_titles'::regclass) NOT LIKE '%heading%' AS restored`),
  ).toEqual([{ restored: true }]);
}, 300_000);

test('refresh refuses a view another change in flight records too, naming it and the change; nothing written', async () => {
  const { url, dir, run, ok } = await project(`
    CREATE TABLE public.notes (id bigint PRIMARY KEY, title text, body text);
  `);
  await ok('plan', 'rename', 'public.notes.title', 'heading', '--id', 'notes-title');
  await ok('plan', 'rename', 'public.notes.body', 'content', '--id', 'notes-body');
  await query(url, `CREATE VIEW public.note_cards AS SELECT id, title, body FROM public.notes`);
  await ok('plan', 'refresh', 'notes-title');
  const yaml = await readFile(join(dir, 'phases.yaml'), 'utf8');
  const refused = await run('plan', 'refresh', 'notes-body');
  expect(refused.code, refused.stdout).toBe(2);
  expect(refused.stderr).toContain('view public.note_cards also read(s) title, renamed by change "notes-title"');
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(yaml);
}, 120_000);

test('views recorded under column: by older files are read there, generate the same, and refresh moves them', async () => {
  const { dir, ok, change } = await project(`
    CREATE TABLE public.notes (id bigint PRIMARY KEY, title text);
    CREATE VIEW public.note_titles AS SELECT id, title FROM public.notes;
  `);
  await ok('plan', 'rename', 'public.notes.title', 'heading', '--id', 'notes-title');
  const file = join(dir, 'phases.yaml');
  const rewrite = async (edit: (record: Record<string, any>) => void) => {
    const document = parse(await readFile(file, 'utf8')) as { changes: Array<Record<string, any>> };
    edit(document.changes[0]!);
    await writeFile(file, stringify(document));
  };
  // As an older phasectl wrote it: views under column:, no dependents: (functions never read).
  await rewrite((record) => {
    record.column.views = record.dependents.views;
    delete record.dependents;
  });
  for (const release of ['1', '2', '3']) await ok('advance', '--release', release);
  // The same record under dependents: generates the same files.
  await rewrite((record) => {
    record.dependents = { views: record.column.views, foreignKeys: [] };
    delete record.column.views;
  });
  await ok('generate', '--check');
  await rewrite((record) => {
    record.column.views = record.dependents.views;
    delete record.dependents;
  });
  await ok('plan', 'refresh', 'notes-title');
  const migrated = await change('notes-title');
  expect(migrated.column.views).toBeUndefined();
  expect(migrated.dependents.views.map((view: { name: string }) => view.name)).toEqual(['note_titles']);
  expect(migrated.dependents.functions).toEqual([]);
}, 120_000);
