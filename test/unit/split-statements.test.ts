import { expect, test } from 'vitest';
import { splitStatements } from '../../src/sql/split-statements.js';

test('splits on top-level semicolons and trims', () => {
  expect(splitStatements('SET a = 1;\n  SELECT 2 ;SELECT 3')).toEqual(['SET a = 1', 'SELECT 2', 'SELECT 3']);
});

test('ignores semicolons inside strings, E-strings, identifiers, dollar quotes and comments', () => {
  const sql = [
    "SELECT 'a;''b'",
    "SELECT E'c\\';d'",
    'SELECT 1 AS "x;""y"',
    'DO $$ BEGIN PERFORM 1; END $$',
    'DO $body$ BEGIN RAISE NOTICE $$;$$; END $body$',
    'SELECT 1 -- trailing; comment\n + 1',
    'SELECT /* a; /* nested; */ still; */ 2',
  ].join(';\n');
  expect(splitStatements(sql)).toEqual([
    "SELECT 'a;''b'",
    "SELECT E'c\\';d'",
    'SELECT 1 AS "x;""y"',
    'DO $$ BEGIN PERFORM 1; END $$',
    'DO $body$ BEGIN RAISE NOTICE $$;$$; END $body$',
    'SELECT 1 -- trailing; comment\n + 1',
    'SELECT /* a; /* nested; */ still; */ 2',
  ]);
});

test('drops empty and comment-only statements but keeps leading comments of real ones', () => {
  expect(splitStatements(';;\n-- only a comment;\n/* and; this */;\n-- why\nSELECT 1;\n')).toEqual([
    '-- why\nSELECT 1',
  ]);
});

test('a parameter $1 is not a dollar quote', () => {
  expect(splitStatements('SELECT $1; SELECT $2')).toEqual(['SELECT $1', 'SELECT $2']);
});
