import { expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { mentionsColumn, replaceColumnReference } from '../../src/operations/sql-identifiers.js';

test('replaces bare references, unquoted case-folded, quoted ones exactly', () => {
  expect(replaceColumnReference('length(job_title) < 200', 'job_title', '"x"')).toBe('length("x") < 200');
  expect(replaceColumnReference('Job_Title || "job_title"', 'job_title', 'N')).toBe('N || N');
  expect(replaceColumnReference('"Job_Title" || job_title', 'Job_Title', 'N')).toBe('N || job_title');
  expect(replaceColumnReference('"a""b" || a', 'a"b', 'N')).toBe('N || a');
});

test('leaves strings, comments, dollar quotes, qualified names, calls and type names alone', () => {
  const sql =
    "coalesce(t.job_title, 'job_title', E'\\'job_title', $$job_title$$, /* job_title */ job_title(1), job_title) -- job_title";
  expect(replaceColumnReference(sql, 'job_title', 'N')).toBe(
    "coalesce(t.job_title, 'job_title', E'\\'job_title', $$job_title$$, /* job_title */ job_title(1), N) -- job_title",
  );
  expect(replaceColumnReference('text::text || CAST(text AS text)', 'text', 'NEW."text"')).toBe(
    'NEW."text"::text || CAST(NEW."text" AS text)',
  );
  expect(replaceColumnReference("date + '1 day'::interval > '2000-01-01'::date", 'date', 't."date"')).toBe(
    `t."date" + '1 day'::interval > '2000-01-01'::date`,
  );
  expect(replaceColumnReference('"user" || user', 'user', 'N')).toBe('N || user');
});

test('mentionsColumn; a non-expression is bad input', () => {
  expect(mentionsColumn('round(amount * 100)::bigint', 'amount')).toBe(true);
  expect(mentionsColumn("'amount'", 'amount')).toBe(false);
  expect(mentionsColumn('amount(1)', 'amount')).toBe(false);
  expect(() => mentionsColumn('amount) , (1', 'amount')).toThrow(InputError);
  expect(() => replaceColumnReference('amount +', 'amount', 'N')).toThrow(InputError);
});
