import { describe, expect, test } from 'vitest';
import { columnMentionCondition } from '../../src/operations/column-mention.js';
import { textMention } from '../../src/dependents/function-body.js';

describe('columnMentionCondition', () => {
  test('a plain name is a whole word in any case; an unquoted non-ASCII name counts as plain', () => {
    expect(columnMentionCondition('p.prosrc', 'job_title')).toBe(
      String.raw`p.prosrc ~* '(^|[^[:alnum:]_$])job_title([^[:alnum:]_$]|$)'`,
    );
    expect(columnMentionCondition('p.prosrc', 'größe')).toBe(
      String.raw`p.prosrc ~* '(^|[^[:alnum:]_$])größe([^[:alnum:]_$]|$)'`,
    );
    // A backslash makes pg's escapeLiteral write an E'' string with each backslash doubled.
    expect(columnMentionCondition('p.prosrc', 'a$b')).toBe(
      String.raw`p.prosrc ~* E'(^|[^[:alnum:]_$])a\\$b([^[:alnum:]_$]|$)'`,
    );
  });

  test('any other name is matched in its quoted form, regex and quote characters escaped', () => {
    expect(columnMentionCondition('p.prosrc', 'Job Title')).toBe(String.raw`p.prosrc ~ '"Job Title"'`);
    expect(columnMentionCondition('p.prosrc', `it's (a) "x"`)).toBe(String.raw`p.prosrc ~ E'"it''s \\(a\\) ""x"""'`);
    expect(columnMentionCondition('p.prosrc', String.raw`back\slash`)).toBe(String.raw`p.prosrc ~ E'"back\\\\slash"'`);
  });
});

test('a name of 60–63 bytes is also named by a longer identifier PostgreSQL cuts to it', () => {
  const long = `job_title_${'x'.repeat(53)}`; // 63 bytes
  expect(columnMentionCondition('p.prosrc', long)).toBe(String.raw`p.prosrc ~* '(^|[^[:alnum:]_$])${long}'`);
  const quoted = `Job ${'x'.repeat(59)}`;
  expect(columnMentionCondition('p.prosrc', quoted)).toBe(String.raw`p.prosrc ~ '"${quoted}'`);
  // 62 bytes: cut there only before a character of two bytes or more.
  expect(columnMentionCondition('p.prosrc', long.slice(1))).toBe(
    String.raw`p.prosrc ~* E'(^|[^[:alnum:]_$])${long.slice(1)}([^[:alnum:]_$]|$|[^\\x01-\\x7f])'`,
  );
  expect(columnMentionCondition('p.prosrc', long.slice(4))).toBe(
    String.raw`p.prosrc ~* '(^|[^[:alnum:]_$])${long.slice(4)}([^[:alnum:]_$]|$)'`,
  );
  expect(textMention(`SELECT ${long}_suffix FROM t`, long)).toEqual({ line: 1 });
  expect(textMention(`SELECT "${quoted}_more" FROM t`, quoted)).toEqual({ line: 1 });
  expect(textMention(`SELECT ${long.slice(1)}é FROM t`, long.slice(1))).toEqual({ line: 1 });
  expect(textMention(`SELECT ${long.slice(1)}e FROM t`, long.slice(1))).toBeUndefined();
  expect(textMention(`SELECT ${long.slice(4)}_suffix FROM t`, long.slice(4))).toBeUndefined();
  expect(textMention(`SELECT job_title2 FROM t`, 'job_title')).toBeUndefined();
  expect(textMention(`SELECT "Job"x FROM t`, 'Job')).toEqual({ line: 1 });
  expect(textMention(`SELECT "Job " FROM t`, 'Job')).toBeUndefined();
});
