import { expect, test } from 'vitest';
import {
  findTopLevelKeyword,
  namesColumn,
  quoteIdentLikePostgres,
  renameColumn,
  SqlParseError,
} from '../../src/sql/parser.js';

const rename = (sql: string, column: string, newName: string) =>
  renameColumn(sql, { table: 'events', column, newName });
const check = (definition: string) => `ALTER TABLE t ADD CONSTRAINT c ${definition}`;

test('a column named like a type: the column is renamed, the type is not', () => {
  expect(rename(check("CHECK ((date > '2000-01-01'::date))"), 'date', 'happened_on')).toBe(
    check("CHECK ((happened_on > '2000-01-01'::date))"),
  );
  expect(rename(check("CHECK (((text)::text <> 'text'::text))"), 'text', 'body')).toBe(
    check("CHECK (((body)::text <> 'text'::text))"),
  );
  expect(
    rename(check('CHECK (("timestamp" > \'2000-01-01 00:00:00\'::timestamp without time zone))'), 'timestamp', 'at'),
  ).toBe(check("CHECK ((at > '2000-01-01 00:00:00'::timestamp without time zone))"));
  expect(rename(check('CHECK (("int" > (0)::int))'), 'int', 'order')).toBe(check('CHECK (("order" > (0)::int))'));
});

test('keywords, other tables and qualified references', () => {
  expect(
    rename(
      check(`CHECK ((("user" <> CURRENT_USER) AND (events."user" <> user) AND (other."user" = 'user'::text)))`),
      'user',
      'login',
    ),
  ).toBe(check(`CHECK (((login <> CURRENT_USER) AND (events.login <> user) AND (other."user" = 'user'::text)))`));
});

test('index definitions: plain, expression, partial, INCLUDE', () => {
  expect(
    rename(
      "CREATE INDEX i ON public.events USING btree (date DESC NULLS LAST) INCLUDE (id) WHERE (date > '2000-01-01'::date)",
      'date',
      'Day',
    ),
  ).toBe(
    'CREATE INDEX i ON public.events USING btree ("Day" DESC NULLS LAST) INCLUDE (id) WHERE ("Day" > \'2000-01-01\'::date)',
  );
  expect(
    rename(
      'CREATE INDEX i ON public.events USING btree (lower((text)::text) COLLATE "C" text_pattern_ops)',
      'text',
      'body',
    ),
  ).toBe('CREATE INDEX i ON public.events USING btree (lower((body)::text) COLLATE "C" text_pattern_ops)');
});

test('a foreign key: only the local column list', () => {
  expect(
    rename(check('FOREIGN KEY ("order", id) REFERENCES orders("order", id) ON DELETE CASCADE'), 'order', 'ordr'),
  ).toBe(check('FOREIGN KEY (ordr, id) REFERENCES orders("order", id) ON DELETE CASCADE'));
});

test('a foreign key with ON DELETE SET NULL (column) (PostgreSQL 15+): that list is the local columns too', () => {
  expect(
    rename(
      check('FOREIGN KEY (tenant, org_code) REFERENCES s.orgs(tenant, org_code) ON DELETE SET NULL (org_code)'),
      'org_code',
      'org_ref',
    ),
  ).toBe(check('FOREIGN KEY (tenant, org_ref) REFERENCES s.orgs(tenant, org_code) ON DELETE SET NULL (org_ref)'));
});

test('non-ASCII text keeps its offsets; invalid SQL is refused', () => {
  expect(rename(check('CHECK (("é" <> \'ü\'::text) AND ("é" <> date))'), 'é', 'ö')).toBe(
    check('CHECK (("ö" <> \'ü\'::text) AND ("ö" <> date))'),
  );
  expect(() => rename(check('CHECK ((date >'), 'date', 'x')).toThrow(SqlParseError);
});

test('quoteIdentLikePostgres matches quote_ident', () => {
  expect(
    [
      'date',
      'text',
      'int',
      'timestamp',
      'user',
      'order',
      'check',
      'default',
      'Foo',
      'a$b',
      'login',
      'position',
      'name',
    ].map(quoteIdentLikePostgres),
  ).toEqual([
    'date',
    'text',
    '"int"',
    '"timestamp"',
    '"user"',
    '"order"',
    '"check"',
    '"default"',
    '"Foo"',
    '"a$b"',
    'login',
    '"position"',
    'name',
  ]);
});

test('findTopLevelKeyword and namesColumn', () => {
  const definition = 'CREATE INDEX "on" ON public.t USING btree (a) WHERE (b IN (SELECT 1))';
  const on = findTopLevelKeyword(definition, 'on');
  expect(definition.slice(on?.end).trim()).toBe('public.t USING btree (a) WHERE (b IN (SELECT 1))');
  expect(namesColumn(definition, 't', 'b')).toBe(true);
  expect(namesColumn(definition, 't', 'on')).toBe(false);
});
