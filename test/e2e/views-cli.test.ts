import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { phasectlProcess } from '../support/cli-process.js';
import { createTestDatabase } from '../support/database.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, emptyProject } from '../support/test-project.js';

/**
 * Issue 12 items 1 and 5: the views that read a renamed column are recorded at plan, re-pointed at the new column in
 * phase 3 (same rows, same output columns), refused when changed since plan, and put back exactly by the down.
 */
const cleanups = cleanupsAfterAll();

const FIXTURE = `
  CREATE SCHEMA app;
  CREATE TABLE app.films (id bigint PRIMARY KEY, title text NOT NULL, kind text NOT NULL, rating int);
  CREATE TABLE app.reviews (id bigint PRIMARY KEY, film_id bigint NOT NULL, title text NOT NULL, stars int NOT NULL);
  INSERT INTO app.films SELECT g, 'film ' || (g % 7), CASE WHEN g % 3 = 0 THEN 'public' ELSE 'private' END, g % 5 FROM generate_series(1, 60) g;
  INSERT INTO app.reviews SELECT g, 1 + g % 60, 'review ' || g, 1 + g % 5 FROM generate_series(1, 120) g;
  -- Joins, GROUP BY and ORDER BY on the column; a same-named column of another table (reviews.title) stays.
  CREATE VIEW app.film_stats AS
    SELECT f.title, count(r.id) AS reviews, max(r.title) AS last_review
    FROM app.films f JOIN app.reviews r ON r.film_id = f.id
    WHERE f.title <> '' GROUP BY f.title HAVING count(*) > 0 ORDER BY f.title;
  -- A view over that view needs nothing.
  CREATE VIEW app.top_titles AS SELECT title, reviews FROM app.film_stats WHERE reviews > 1;
  -- A CTE, a scalar subquery, a correlated EXISTS, a window and a cast that names its output after the column.
  CREATE VIEW app.film_report AS
    WITH ranked AS (SELECT id, title, rank() OVER (PARTITION BY kind ORDER BY title, id) AS pos FROM app.films)
    SELECT ranked.title, ranked.pos,
           (SELECT max(x.title) FROM app.films x WHERE x.id < ranked.id) AS previous_title,
           EXISTS (SELECT 1 FROM app.reviews r WHERE r.title = ranked.title) AS reviewed
    FROM ranked;
  CREATE VIEW app.film_titles AS SELECT f.id, upper(f.title) AS loud, f.title::varchar(40) FROM app.films f WHERE f.title IN (SELECT title FROM app.films WHERE rating > 2);
  -- What the application writes through.
  CREATE VIEW app.public_films WITH (security_barrier) AS SELECT id, title, kind FROM app.films WHERE kind = 'public' WITH CHECK OPTION;
  -- security_invoker is new in PostgreSQL 15.
  DO $$ BEGIN
    IF current_setting('server_version_num')::int >= 150000 THEN
      EXECUTE 'CREATE VIEW app.invoker_films WITH (security_invoker = true) AS SELECT id, title FROM app.films';
    END IF;
  END $$;
`;
const VIEWS = ['film_stats', 'top_titles', 'film_report', 'film_titles', 'public_films', 'invoker_films'];

/** Every view's definition (as phase 3's guard reads it) and options. */
async function catalog(url: string) {
  const connection = await client(url);
  try {
    await connection.query('SET search_path = pg_catalog, pg_temp');
    return (
      await connection.query(
        `SELECT c.relname, pg_get_viewdef(c.oid) AS definition, c.reloptions::text[] AS options,
            (SELECT array_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0) AS columns
     FROM pg_class c WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'v' ORDER BY c.relname`,
      )
    ).rows;
  } finally {
    await connection.end();
  }
}

/** Every view's rows, as JSON, in a fixed order. */
async function contents(url: string): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  const present = await query<{ relname: string }>(
    url,
    `SELECT relname FROM pg_class WHERE relnamespace = 'app'::regnamespace AND relkind = 'v'`,
  );
  for (const view of VIEWS.filter((name) => present.some((row) => row.relname === name)))
    result[view] = (
      await query<{ rows: unknown }>(url, `SELECT json_agg(v ORDER BY v::text) AS rows FROM app.${view} v`)
    )[0]?.rows;
  return result;
}

async function project(url: string) {
  const dir = await emptyProject(cleanups, 'phasectl-views-');
  const cli = (args: string[]) => phasectlProcess(dir, args, { DATABASE_URL: url });
  return { dir, cli };
}

async function database(fixture = FIXTURE) {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  await query(db.url, fixture);
  return db.url;
}

describe('views reading a renamed column', () => {
  let url: string;
  let oracleUrl: string;
  let cli: Awaited<ReturnType<typeof project>>['cli'];
  let dir: string;

  beforeAll(async () => {
    url = await database();
    // PostgreSQL's own rename, on a copy: what each view must read like after phase 3.
    oracleUrl = await database();
    await query(oracleUrl, 'ALTER TABLE app.films RENAME COLUMN title TO name');
    ({ cli, dir } = await project(url));
  });

  test('three phases with old- and new-release writes: same rows, same columns; the down puts every view back exactly', async () => {
    const ok = async (args: string[]) => {
      const result = await cli(args);
      expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(0);
      return result;
    };
    await ok(['plan', 'rename', 'app.films.title', 'name', '--id', 'films-title']);
    const yaml = await readFile(join(dir, 'phases.yaml'), 'utf8');
    // Views reading the column directly are recorded; the view over a view is not.
    for (const view of ['film_stats', 'film_report', 'film_titles', 'public_films'])
      expect(yaml).toContain(`name: ${view}`);
    expect(yaml).not.toContain('name: top_titles');
    expect(yaml).toContain('- check_option=cascaded');
    for (const release of ['1.0', '2.0', '3.0']) await ok(['advance', '--release', release]);
    const original = await catalog(url);

    await ok(['migrate', '--to-release', '1.0']);
    // Old release: writes the old column, also through the security_barrier view.
    await query(
      url,
      `INSERT INTO app.films (id, title, kind) VALUES (1001, 'old release', 'private');
                      INSERT INTO app.public_films (id, title, kind) VALUES (1002, 'through the view', 'public');
                      UPDATE app.films SET title = 'film renamed' WHERE id = 5;`,
    );
    await ok(['migrate', '--to-release', '2.0']);
    // New release writes the new column; an old instance still writes the old one.
    await query(
      url,
      `INSERT INTO app.films (id, name, kind) VALUES (1003, 'new release', 'public');
                      UPDATE app.films SET name = 'film 3 again' WHERE id = 3;
                      INSERT INTO app.public_films (id, title, kind) VALUES (1004, 'old instance via view', 'public');`,
    );
    const before = await contents(url);
    expect((before.public_films as unknown[]).length).toBeGreaterThan(20);

    await ok(['migrate']);
    expect(
      await query(
        url,
        `SELECT attname FROM pg_attribute WHERE attrelid = 'app.films'::regclass AND attname IN ('title', 'name') AND NOT attisdropped`,
      ),
    ).toEqual([{ attname: 'name' }]);
    expect(await contents(url)).toEqual(before);
    const after = await catalog(url);
    // Output names, order and types unchanged; options unchanged; the text is what PostgreSQL's own rename prints.
    expect(after.map((view) => [view.relname, view.columns, view.options])).toEqual(
      original.map((view) => [view.relname, view.columns, view.options]),
    );
    expect(after).toEqual(await catalog(oracleUrl));
    // The application keeps writing through the view; its check option still holds.
    await query(url, `INSERT INTO app.public_films (id, title, kind) VALUES (1005, 'after phase 3', 'public')`);
    await expect(
      query(url, `INSERT INTO app.public_films (id, title, kind) VALUES (1006, 'hidden', 'private')`),
    ).rejects.toThrow(/check option/);
    const withWrite = await contents(url);

    const down = await cli(['rollback', '--release', '3.0', '--yes']);
    expect(down.code, down.stderr).toBe(0);
    expect(await catalog(url)).toEqual(original);
    expect(await contents(url)).toEqual(withWrite);
  }, 300_000);
});

describe('refusals', () => {
  test('a view changed after plan: phase 3 changes nothing, exits 3 naming it and `plan refresh`; after the refresh it goes through', async () => {
    const url = await database();
    const { cli } = await project(url);
    for (const args of [
      ['plan', 'rename', 'app.films.title', 'name', '--id', 'films-title'],
      ['advance', '--release', '1'],
      ['advance', '--release', '2'],
      ['advance', '--release', '3'],
      ['migrate', '--to-release', '2'],
    ]) {
      const result = await cli(args);
      expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(0);
    }
    await query(
      url,
      `CREATE OR REPLACE VIEW app.film_titles AS SELECT f.id, lower(f.title) AS loud, f.title::varchar(40) FROM app.films f`,
    );
    const before = await catalog(url);
    const refused = await cli(['migrate']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('app.film_titles (changed since plan)');
    expect(refused.stderr).toContain('phasectl plan refresh films-title');
    expect(await catalog(url)).toEqual(before);
    expect(
      await query(
        url,
        `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'app.films'::regclass AND attname = 'title' AND NOT attisdropped`,
      ),
    ).toEqual([{ n: 1 }]);

    // A view created after plan is named too, and one dropped since.
    await query(
      url,
      `CREATE VIEW app.late AS SELECT title FROM app.films; DROP VIEW app.top_titles; DROP VIEW app.film_stats;`,
    );
    const again = await cli(['migrate']);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain(
      'app.film_stats (dropped since plan), app.film_titles (changed since plan), app.late (not recorded by plan)',
    );

    const refresh = await cli(['plan', 'refresh', 'films-title']);
    expect(refresh.code, refresh.stderr).toBe(0);
    expect(refresh.stdout).toContain('view app.late');
    expect((await cli(['generate'])).code).toBe(0);
    const applied = await cli(['migrate']);
    expect(applied.code, applied.stderr).toBe(0);
    expect(await query(url, `SELECT title FROM app.late ORDER BY 1 LIMIT 1`)).toEqual([{ title: 'film 0' }]);
  }, 300_000);

  test('plan refuses what it cannot carry, exit 2 and phases.yaml unchanged: a materialized view, a USING join on the column, a type change', async () => {
    const url = await database(`${FIXTURE}
      CREATE TABLE app.tags (id bigint PRIMARY KEY, title text);
      CREATE VIEW app.tagged AS SELECT f.id, t.id AS tag FROM app.films f JOIN app.tags t USING (title);
      CREATE TABLE app.notes (id bigint PRIMARY KEY, body text);
      CREATE MATERIALIZED VIEW app.note_words AS SELECT id, upper(body) AS loud FROM app.notes;`);
    const { cli, dir } = await project(url);
    const yaml = await readFile(join(dir, 'phases.yaml'), 'utf8');

    const materialized = await cli(['plan', 'rename', 'app.notes.body', 'text_body']);
    expect(materialized.code).toBe(2);
    expect(materialized.stderr).toContain('materialized view app.note_words');
    expect(materialized.stderr).toContain('REFRESH MATERIALIZED VIEW CONCURRENTLY');

    const using = await cli(['plan', 'rename', 'app.films.title', 'name']);
    expect(using.code).toBe(2);
    expect(using.stderr).toContain(
      'view app.tagged cannot be re-pointed at name safely: the view joins films USING (title)',
    );

    const typed = await cli(['plan', 'rename', 'app.films.kind', 'category', '--type', 'varchar(20)']);
    expect(typed.code).toBe(2);
    expect(typed.stderr).toMatch(/view app\.film_report.*their output type would change/);
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(yaml);
  }, 120_000);

  test('a move lists the views of the moved column as work before phase 3, saying how to re-create them', async () => {
    const url = await database(`${FIXTURE}
      CREATE TABLE app.film_details (film_id bigint PRIMARY KEY, title text);`);
    const { cli } = await project(url);
    const move = await cli(['plan', 'move', 'app.films.title', 'app.film_details.title', '--on', 'id=film_id']);
    expect(move.code, move.stderr).toBe(0);
    expect(move.stdout).toMatch(/work before phase 3: \d+ view\(s\) read app\.films\.title/);
    expect(move.stdout).toContain('LEFT JOIN app.film_details AS t ON t.film_id = s.id');
    expect(move.stdout).toContain('  - app.film_stats');
  });

  test('a stored generated column computed from the column is refused: re-pointing it rewrites the whole table', async () => {
    const url = await database(
      `CREATE TABLE public.items (id bigint PRIMARY KEY, title text, loud text GENERATED ALWAYS AS (upper(title)) STORED)`,
    );
    const { cli } = await project(url);
    const refused = await cli(['plan', 'rename', 'items.title', 'name']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('public.items.title is used by stored generated column loud');
    expect(refused.stderr).toContain('rewriting the whole table under an ACCESS EXCLUSIVE lock');
  });
});

describe('virtual generated columns (PostgreSQL 18)', () => {
  test('re-pointed in phase 3 with SET EXPRESSION (no rewrite), put back by the down', async () => {
    const url = await database('SELECT 1');
    const [server] = await query<{ num: number }>(url, `SELECT current_setting('server_version_num')::int AS num`);
    if (server!.num < 180000) {
      // Before 18 there are no virtual generated columns: nothing to carry (stored ones are refused, above).
      await expect(
        query(url, `CREATE TABLE t (a text, b text GENERATED ALWAYS AS (upper(a)) VIRTUAL)`),
      ).rejects.toThrow();
      return;
    }
    await query(
      url,
      `CREATE TABLE public.items (id bigint PRIMARY KEY, title text, loud text GENERATED ALWAYS AS (upper(title) || '!') VIRTUAL);
                      INSERT INTO public.items (id, title) SELECT g, 'item ' || g FROM generate_series(1, 50) g;
                      CREATE VIEW public.loud_items AS SELECT id, loud FROM public.items;
                      CREATE TABLE public.checked (id bigint PRIMARY KEY, title text NOT NULL, loud text GENERATED ALWAYS AS (upper(title)) VIRTUAL);`,
    );
    const { cli, dir } = await project(url);
    // PostgreSQL 18 cannot SET EXPRESSION on a table with a CHECK (phasectl holds NOT NULL with one): refused at plan.
    const refused = await cli(['plan', 'rename', 'checked.title', 'name']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(
      'PostgreSQL cannot re-point it (SET EXPRESSION) while the table has a CHECK constraint, and the column is NOT NULL',
    );
    for (const args of [
      ['plan', 'rename', 'items.title', 'name', '--id', 'items-title'],
      ['advance', '--release', '1'],
      ['advance', '--release', '2'],
      ['advance', '--release', '3'],
      ['migrate', '--to-release', '2'],
    ]) {
      const result = await cli(args);
      expect(result.code, `${args.join(' ')}\n${result.stderr}`).toBe(0);
    }
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toContain("expression: (upper(title) || '!'::text)");
    const expression = () =>
      query(
        url,
        `SELECT pg_get_expr(d.adbin, d.adrelid) AS expression FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE a.attrelid = 'public.items'::regclass AND a.attname = 'loud'`,
      );
    const file = () => query(url, `SELECT relfilenode FROM pg_class WHERE oid = 'public.items'::regclass`);
    const original = await expression();
    const fileBefore = await file();
    const rows = await query(url, 'SELECT * FROM public.loud_items ORDER BY id');
    const contract = await cli(['migrate']);
    expect(contract.code, contract.stderr).toBe(0);
    expect(await expression()).toEqual([{ expression: "(upper(name) || '!'::text)" }]);
    expect(await file()).toEqual(fileBefore);
    expect(await query(url, 'SELECT * FROM public.loud_items ORDER BY id')).toEqual(rows);
    await query(url, `INSERT INTO public.items (id, name) VALUES (51, 'new')`);
    expect(await query(url, 'SELECT loud FROM public.items WHERE id = 51')).toEqual([{ loud: 'NEW!' }]);
    const down = await cli(['rollback', '--release', '3', '--yes']);
    expect(down.code, down.stderr).toBe(0);
    expect(await expression()).toEqual(original);
    expect(await query(url, 'SELECT loud FROM public.items WHERE id = 51')).toEqual([{ loud: 'NEW!' }]);
  }, 300_000);
});
