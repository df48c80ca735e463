import { expect, test } from 'vitest';
import { differs, identical } from '../../src/operations/identity.js';

const recordImage = 'ROW(a)::pg_catalog.record OPERATOR(pg_catalog.*<>) ROW(b)::pg_catalog.record';

test('text and varchar compare byte for byte under COLLATE "C", with qualified operators only', () => {
  for (const type of ['text', 'character varying', 'character varying(40)', 'VARCHAR(40)'])
    expect(differs('a', 'b', type)).toBe(
      'NOT ((a) IS NULL AND (b) IS NULL OR ((a) COLLATE pg_catalog."C" OPERATOR(pg_catalog.=) (b) COLLATE pg_catalog."C") IS TRUE)',
    );
  expect(identical('a', 'b', 'text')).toBe(
    '((a) IS NULL AND (b) IS NULL OR ((a) COLLATE pg_catalog."C" OPERATOR(pg_catalog.=) (b) COLLATE pg_catalog."C") IS TRUE)',
  );
});

test('types whose = is identity compare plainly', () => {
  for (const type of [
    'integer',
    'bigint',
    'smallint',
    'boolean',
    'uuid',
    'date',
    'bytea',
    'timestamp(3) with time zone',
  ])
    expect(differs('a', 'b', type)).toBe(
      'NOT ((a) IS NULL AND (b) IS NULL OR ((a) OPERATOR(pg_catalog.=) (b)) IS TRUE)',
    );
});

test('every other type keeps the record image: equal is not identical there', () => {
  for (const type of [
    'numeric',
    'numeric(10,2)',
    'double precision',
    'real',
    'interval',
    'citext',
    'public.citext',
    'public.text',
    'text[]',
    'character(5)',
    'jsonb',
    'time with time zone',
    'public.email_domain',
    undefined,
  ])
    expect(differs('a', 'b', type)).toBe(recordImage);
  // Lists (a move's several columns) always compare as records.
  expect(differs(['a', 'c'], ['b', 'd'], 'text')).toBe(
    'ROW(a, c)::pg_catalog.record OPERATOR(pg_catalog.*<>) ROW(b, d)::pg_catalog.record',
  );
});
