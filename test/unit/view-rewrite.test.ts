import { describe, expect, test } from 'vitest';
import { repointViewQuery } from '../../src/dependents/view-rewrite.js';
import { SqlParseError } from '../../src/sql/parser.js';

/** Issue 12 item 1: a view query (as pg_get_viewdef prints it) re-pointed from films.title to films.name. */
const rename = { schema: 'public', table: 'films', column: 'title', newName: 'name' };
const repoint = (sql: string) => repointViewQuery(sql, rename);

describe('repointViewQuery', () => {
  test('a single-table view: bare references in every clause, output name kept', () => {
    expect(
      repoint(
        " SELECT title,\n    count(*) AS count\n   FROM public.films\n  WHERE (title <> ''::text)\n  GROUP BY title\n HAVING (count(*) > 1)\n  ORDER BY title;",
      ),
    ).toBe(
      "SELECT name AS title,\n    count(*) AS count\n   FROM public.films\n  WHERE (name <> ''::text)\n  GROUP BY name\n HAVING (count(*) > 1)\n  ORDER BY name",
    );
  });

  test('a join: the same-named column of the other table stays, an explicit output name stays', () => {
    expect(
      repoint(
        'SELECT f.title, r.title AS review, f.title AS t FROM (public.films f JOIN public.reviews r ON ((r.title = f.title)))',
      ),
    ).toBe(
      'SELECT f.name AS title, r.title AS review, f.name AS t FROM (public.films f JOIN public.reviews r ON ((r.title = f.name)))',
    );
  });

  test('CTEs, window clauses, casts and correlated subqueries; an inner alias that shadows the table is not it', () => {
    expect(
      repoint(
        'WITH c AS (SELECT films.title, rank() OVER (PARTITION BY films.title ORDER BY films.id) AS r FROM public.films) ' +
          'SELECT c.title, (c.title)::character varying(10), (SELECT max(f.title) FROM public.reviews f) AS m, ' +
          '(SELECT max(x.title) FROM public.films x WHERE (x.id = c.r)) AS n FROM c',
      ),
    ).toBe(
      'WITH c AS (SELECT films.name AS title, rank() OVER (PARTITION BY films.name ORDER BY films.id) AS r FROM public.films) ' +
        'SELECT c.title, (c.title)::character varying(10), (SELECT max(f.title) FROM public.reviews f) AS m, ' +
        '(SELECT max(x.name) FROM public.films x WHERE (x.id = c.r)) AS n FROM c',
    );
    expect(
      repoint(
        'SELECT (f.title)::text, f.title COLLATE "C", upper(f.title) AS u FROM public.films f WHERE EXISTS (SELECT 1 FROM public.reviews r WHERE (r.title = f.title))',
      ),
    ).toBe(
      'SELECT (f.name)::text AS title, f.name COLLATE "C" AS title, upper(f.name) AS u FROM public.films f WHERE EXISTS (SELECT 1 FROM public.reviews r WHERE (r.title = f.name))',
    );
  });

  test('a table of the same name in another schema, and a UNION ORDER BY on the output name, stay', () => {
    expect(repoint('SELECT f.title FROM archive.films f UNION SELECT g.title FROM public.films g ORDER BY 1')).toBe(
      'SELECT f.title FROM archive.films f UNION SELECT g.name AS title FROM public.films g ORDER BY 1',
    );
  });

  test('ARRAY[…] and IN (…) lists (PostgreSQL 18 records their offsets in the tree)', () => {
    expect(
      repoint("SELECT ARRAY[title, kind] AS a FROM public.films WHERE (title = ANY (ARRAY['x'::text, 'y'::text]))"),
    ).toBe("SELECT ARRAY[name, kind] AS a FROM public.films WHERE (name = ANY (ARRAY['x'::text, 'y'::text]))");
    expect(repoint("SELECT id FROM public.films WHERE title IN ('x', 'y')")).toBe(
      "SELECT id FROM public.films WHERE name IN ('x', 'y')",
    );
  });

  test('names that need quotes', () => {
    expect(
      repointViewQuery('SELECT "Title", id FROM "My Schema"."Films"', {
        schema: 'My Schema',
        table: 'Films',
        column: 'Title',
        newName: 'New Name',
      }),
    ).toBe('SELECT "New Name" AS "Title", id FROM "My Schema"."Films"');
  });

  test.each([
    [
      'a USING join on the column',
      'SELECT f.id FROM (public.films f JOIN public.reviews r USING (title))',
      /joins films USING \(title\)/,
    ],
    ['a NATURAL join', 'SELECT f.id FROM (public.films f NATURAL JOIN public.reviews r)', /NATURAL JOIN/],
    ['a whole-row reference', 'SELECT to_jsonb(f.*) AS j FROM public.films f', /whole rows/],
    ['column aliases on the table', 'SELECT f.b FROM public.films f(a, b)', /by position/],
    [
      "a bare name that could be another relation's",
      'SELECT (SELECT max(title) FROM public.reviews) AS m FROM public.films',
      /could belong to another relation/,
    ],
    [
      'an output column named like the new column beside a bare reference',
      'SELECT title, id AS name FROM public.films ORDER BY title',
      /output column named name/,
    ],
  ])('refuses %s', (_what, sql, message) => {
    expect(() => repoint(sql)).toThrow(SqlParseError);
    expect(() => repoint(sql)).toThrow(message);
  });
});
