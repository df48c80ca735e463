import { expect, test } from 'vitest';
import { findKeyword, mentionsColumn, replaceColumnReference } from '../../src/operations/sql-identifiers.js';

test('replaces unquoted references case-folded, quoted ones exactly', () => {
  expect(replaceColumnReference('CHECK ((length(job_title) < 200))', 'job_title', '"x"')).toBe('CHECK ((length("x") < 200))');
  expect(replaceColumnReference('Job_Title + "job_title"', 'job_title', 'N')).toBe('N + N');
  expect(replaceColumnReference('"Job_Title" + job_title', 'Job_Title', 'N')).toBe('N + job_title');
  expect(replaceColumnReference('"a""b" || a', 'a"b', 'N')).toBe('N || a');
});

test('leaves strings, comments, dollar quotes, qualified names and calls alone', () => {
  const sql = "t.job_title, job_title.x, 'job_title', E'\\'job_title', $$job_title$$, -- job_title\n/* job_title */ job_title(1), job_title";
  expect(replaceColumnReference(sql, 'job_title', 'N')).toBe(
    "t.job_title, job_title.x, 'job_title', E'\\'job_title', $$job_title$$, -- job_title\n/* job_title */ job_title(1), N",
  );
});

test('reserved words only match when quoted', () => {
  expect(replaceColumnReference('USING btree ("desc" DESC)', 'desc', 'N')).toBe('USING btree (N DESC)');
});

test('mentionsColumn and findKeyword', () => {
  expect(mentionsColumn('round(amount * 100)::bigint', 'amount')).toBe(true);
  expect(mentionsColumn("'amount'", 'amount')).toBe(false);
  const definition = 'CREATE INDEX "on" ON public.t USING btree (a) WHERE (b IN (SELECT 1))';
  const on = findKeyword(definition, 'on');
  expect(definition.slice(on?.end).trim()).toBe('public.t USING btree (a) WHERE (b IN (SELECT 1))');
  expect(findKeyword('FOREIGN KEY (a) REFERENCES t(a)', 'references')?.start).toBe(16);
});
