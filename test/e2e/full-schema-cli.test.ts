import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * Issue 12's "Done when": a whole schema (test/fixtures/library.sql: views, functions, triggers, foreign keys) and
 * sixteen renames planned together, carried release by release through the CLI with old- and new-release writes in
 * between. Nothing breaks: every view returns the same rows before and after phase 3, the functions the team
 * rewrote in phase 2's release work, the triggers fire, the keys cascade; what plan cannot carry is refused naming
 * the blocker.
 */
const cleanups = cleanupsAfterAll();

const FIXTURE = readFileSync(new URL('../fixtures/library.sql', import.meta.url), 'utf8');

/** table, old column, new column. */
const RENAMES: Array<[string, string, string]> = [
  ['authors', 'full_name', 'display_name'],
  ['authors', 'bio', 'biography'],
  ['authors', 'born', 'birth_year'],
  ['books', 'title', 'name'],
  ['books', 'isbn', 'isbn13'],
  ['books', 'genre', 'category'],
  ['books', 'pages', 'page_count'],
  ['copies', 'shelf', 'location'],
  ['copies', 'condition', 'state'],
  ['members', 'email', 'email_address'],
  ['members', 'nickname', 'handle'],
  ['members', 'status', 'membership'],
  ['loans', 'due_on', 'due_date'],
  ['loans', 'note', 'remark'],
  ['events', 'kind', 'event_kind'],
  ['events', 'payload', 'details'],
];

/** What the team ships in phase 2's release: its functions on the new columns (not even a string naming an old one). */
const TEAM_FUNCTIONS = `
  CREATE OR REPLACE FUNCTION lib.author_name(p_id bigint) RETURNS text LANGUAGE plpgsql AS $$
  DECLARE
    result text;
  BEGIN
    SELECT a.display_name INTO result FROM lib.authors a WHERE a.id = p_id;
    RETURN result;
  END $$;
  CREATE OR REPLACE FUNCTION lib.author_bio(p_id bigint) RETURNS text LANGUAGE sql AS $$
    SELECT biography FROM lib.authors WHERE id = p_id
  $$;
  CREATE OR REPLACE FUNCTION lib.member_id(p_email text) RETURNS bigint LANGUAGE plpgsql AS $$
  BEGIN
    RETURN (SELECT m.id FROM lib.members m WHERE m.email_address = p_email);
  END $$;
  CREATE OR REPLACE FUNCTION lib.log_genre_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO lib.events (event_kind, details) VALUES ('category', NEW.category);
    RETURN NULL;
  END $$;
`;
/** The one function the team forgets until phase 3 refuses. */
const LATE_FUNCTION = `
  CREATE OR REPLACE FUNCTION lib.loans_due_before(p_day date) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM lib.loans WHERE due_date < p_day
  $$;
`;

/** Every view's output columns (name and type) and options. */
async function viewShapes(url: string) {
  return query(
    url,
    `SELECT c.relname, c.reloptions::text[] AS options,
        (SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum)
         FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) AS columns
     FROM pg_class c WHERE c.relnamespace = 'lib'::regnamespace AND c.relkind = 'v' ORDER BY c.relname`,
  );
}

/** Every view's rows (and the materialized view's), as JSON, in a fixed order. */
async function viewRows(url: string): Promise<Record<string, unknown>> {
  const views = await query<{ relname: string }>(
    url,
    `SELECT relname FROM pg_class WHERE relnamespace = 'lib'::regnamespace AND relkind IN ('v', 'm') ORDER BY 1`,
  );
  const result: Record<string, unknown> = {};
  for (const { relname } of views)
    result[relname] = (
      await query<{ rows: unknown }>(url, `SELECT json_agg(v ORDER BY v::text) AS rows FROM lib.${relname} v`)
    )[0]?.rows;
  return result;
}

const columnsOf = async (url: string, table: string) =>
  (
    await query<{ name: string }>(
      url,
      `SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [`lib.${table}`],
    )
  ).map((row) => row.name);

test('sixteen renames over a whole schema, three releases with writes in between: nothing breaks', async () => {
  const { url, dir, run, ok } = await databaseWithFolder(cleanups, FIXTURE, 'phasectl-full-schema-');
  await ok('init');
  const [server] = await query<{ num: number }>(url, `SELECT current_setting('server_version_num')::int AS num`);

  // Refused at plan, exit 2, naming the blocker; phases.yaml untouched.
  const yamlBefore = await readFile(join(dir, 'phases.yaml'), 'utf8');
  const refusals: Array<[string, string]> = [
    ['lib.members.city', 'lib.members_per_city'],
    ['lib.books.summary', 'summary_length'],
  ];
  if (server!.num >= 140000) refusals.push(['lib.authors.country', 'lib.authors_from(text)']);
  for (const [target, blocker] of refusals) {
    const refused = await run('plan', 'rename', target, 'renamed');
    expect(refused.code, `${target}\n${refused.stdout}\n${refused.stderr}`).toBe(2);
    expect(refused.stderr).toContain(blocker);
  }
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(yamlBefore);

  // Plan all sixteen; the functions naming a renamed column are listed as the team's work.
  let planned = '';
  for (const [table, from, to] of RENAMES)
    planned += (await ok('plan', 'rename', `lib.${table}.${from}`, to, '--id', `${table}-${from.replace(/_/g, '-')}`))
      .stdout;
  for (const work of [
    'lib.author_name(bigint)',
    'lib.author_bio(bigint)',
    'lib.member_id(text)',
    'lib.loans_due_before(date)',
    'lib.log_genre_change()',
  ])
    expect(planned).toContain(work);
  for (const release of ['1.0.0', '2.0.0', '3.0.0']) await ok('advance', '--release', release);
  const shapes = await viewShapes(url);

  // Release 1.0.0 (phase 1 of every change), then the old application writes the old columns.
  await ok('migrate', '--to-release', '1.0.0', '--quiet');
  await query(
    url,
    `INSERT INTO lib.authors (id, full_name, bio, born) VALUES (101, 'old author', 'old bio', 1950);
     INSERT INTO lib.books (id, author_id, title, isbn, genre, pages) VALUES (1001, 101, 'old book', 'isbn-old', 'poetry', 50);
     INSERT INTO lib.open_shelf (id, book_isbn, shelf) VALUES (1001, 'isbn-old', 'A1');
     INSERT INTO lib.members (id, email, nickname, status) VALUES (101, 'old@lib', 'oldie', 'active');
     INSERT INTO lib.loans (id, copy_id, member_email, due_on, note) VALUES (1001, 1001, 'old@lib', DATE '2025-01-01', 'old loan');
     UPDATE lib.books SET genre = 'history' WHERE id = 3;
     UPDATE lib.books SET isbn = 'isbn-3-moved' WHERE id = 3;
     UPDATE lib.members SET email = 'm5-moved@lib' WHERE id = 5;
     UPDATE lib.copies SET condition = 'worn' WHERE id = 7;`,
  );
  expect(await query(url, `SELECT count(*)::int AS n FROM lib.copies WHERE book_isbn = 'isbn-3-moved'`)).toEqual([
    { n: 2 },
  ]);
  expect(await query(url, `SELECT kind, payload, event_kind, details FROM lib.events ORDER BY id`)).toEqual([
    { kind: 'genre', payload: 'history', event_kind: 'genre', details: 'history' },
  ]);

  // Release 2.0.0 (phase 2): the team's functions move to the new columns; new and old instances both write.
  await ok('migrate', '--to-release', '2.0.0', '--quiet');
  await query(url, TEAM_FUNCTIONS);
  await query(
    url,
    `INSERT INTO lib.authors (id, display_name, biography, birth_year) VALUES (102, 'new author', 'new bio', 1990);
     INSERT INTO lib.books (id, author_id, name, isbn13, category, page_count) VALUES (1002, 102, 'new book', 'isbn-new', 'history', 70);
     INSERT INTO lib.copies (id, book_isbn, location, state) VALUES (1002, 'isbn-new', 'B2', 'mint');
     INSERT INTO lib.members (id, email_address, handle, membership) VALUES (102, 'new@lib', 'newbie', 'active');
     INSERT INTO lib.loans (id, copy_id, member_email, due_date, remark) VALUES (1002, 1002, 'new@lib', DATE '2025-02-01', 'new loan');
     UPDATE lib.members SET email_address = 'm6-moved@lib' WHERE id = 6;
     UPDATE lib.members SET membership = 'lapsed' WHERE id = 7;
     UPDATE lib.books SET name = 'book renamed' WHERE id = 8;
     UPDATE lib.books SET genre = 'fiction' WHERE id = 9;
     UPDATE lib.open_shelf SET shelf = 'B2' WHERE id = 1;
     INSERT INTO lib.open_shelf (id, book_isbn, shelf) VALUES (1003, 'isbn-new', 'A1');`,
  );
  expect(await query(url, `SELECT count(*)::int AS n FROM lib.loans WHERE member_email = 'm6-moved@lib'`)).toEqual([
    { n: 5 },
  ]);
  expect(await query(url, `SELECT lib.author_name(102) AS name, lib.member_id('new@lib') AS id`)).toEqual([
    { name: 'new author', id: '102' },
  ]);
  const before = await viewRows(url);

  // Release 3.0.0: phase 3 refuses while a function still names a column, naming it; that change is untouched.
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('function lib.loans_due_before(date) still names it');
  expect(await columnsOf(url, 'loans')).toContain('due_on');
  await query(url, LATE_FUNCTION);
  await ok('migrate', '--quiet');

  // Every old column is gone, every new one is there, in each table's order.
  for (const [table, from, to] of RENAMES) {
    const columns = await columnsOf(url, table);
    expect(columns, table).not.toContain(from);
    expect(columns, table).toContain(to);
  }
  // Every view: same rows, same output columns and options.
  expect(await viewRows(url)).toEqual(before);
  expect(await viewShapes(url)).toEqual(shapes);
  // Functions the team rewrote work; triggers fire on the new columns; keys cascade; the view is still written through.
  expect(
    await query(
      url,
      `SELECT lib.author_name(101) AS name, lib.author_bio(102) AS bio, lib.member_id('m5-moved@lib') AS id,
              lib.loans_due_before(DATE '2030-01-01') AS due`,
    ),
  ).toEqual([{ name: 'old author', bio: 'new bio', id: '5', due: '302' }]);
  await query(
    url,
    `UPDATE lib.books SET category = 'drama', name = 'searchable words' WHERE id = 10;
     UPDATE lib.books SET isbn13 = 'isbn-10-moved' WHERE id = 10;
     UPDATE lib.members SET email_address = 'm8-moved@lib' WHERE id = 8;
     INSERT INTO lib.open_shelf (id, book_isbn, shelf) VALUES (1004, 'isbn-10-moved', 'A1');`,
  );
  expect(
    await query(url, `SELECT fts @@ 'searchable'::tsquery AS found, category FROM lib.books WHERE id = 10`),
  ).toEqual([{ found: true, category: 'drama' }]);
  expect(await query(url, `SELECT event_kind, details FROM lib.events ORDER BY id DESC LIMIT 1`)).toEqual([
    { event_kind: 'category', details: 'drama' },
  ]);
  expect(await query(url, `SELECT count(*)::int AS n FROM lib.copies WHERE book_isbn = 'isbn-10-moved'`)).toEqual([
    { n: 3 },
  ]);
  expect(await query(url, `SELECT count(*)::int AS n FROM lib.loans WHERE member_email = 'm8-moved@lib'`)).toEqual([
    { n: 5 },
  ]);
  await expect(
    query(url, `INSERT INTO lib.open_shelf (id, book_isbn, shelf) VALUES (1005, 'isbn-new', 'archive')`),
  ).rejects.toThrow(/check option/);
  await expect(
    query(url, `INSERT INTO lib.loans (id, copy_id, member_email, due_date) VALUES (1006, 1, 'nobody@lib', now())`),
  ).rejects.toThrow(/foreign key/);
  // Defaults moved over.
  expect(
    await query(url, `INSERT INTO lib.members (id, email_address) VALUES (103, 'd@lib') RETURNING membership`),
  ).toEqual([{ membership: 'active' }]);
}, 240_000);

test('a view or trigger reading two renamed columns: the second plan is refused naming it and the other change', async () => {
  const { dir, run } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.notes (id bigint PRIMARY KEY, title text, body text, fts tsvector);
     CREATE VIEW public.note_cards AS SELECT id, title, body FROM public.notes;
     CREATE TRIGGER notes_fts BEFORE INSERT OR UPDATE ON public.notes
       FOR EACH ROW EXECUTE FUNCTION tsvector_update_trigger(fts, 'pg_catalog.simple', title, body);`,
    'phasectl-shared-view-',
  );
  expect((await run('init')).code).toBe(0);
  const first = await run('plan', 'rename', 'public.notes.title', 'heading', '--id', 'notes-title');
  expect(first.code, first.stderr).toBe(0);
  const yaml = await readFile(join(dir, 'phases.yaml'), 'utf8');
  const second = await run('plan', 'rename', 'public.notes.body', 'content', '--id', 'notes-body');
  expect(second.code, second.stdout).toBe(2);
  expect(second.stderr).toContain(
    'view public.note_cards, trigger notes_fts on public.notes also read(s) title, renamed by change "notes-title"',
  );
  expect(second.stderr).toContain('once "notes-title" has had its phase 3');
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(yaml);
}, 120_000);
