import { describe, expect, test } from 'vitest';
import { columnMentionCondition } from '../../src/operations/column-mention.js';

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
