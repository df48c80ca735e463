import { expect, test } from 'vitest';
import { untrustedCodeError } from '../../src/session/table-trust.js';
import { SqlParseError } from '../../src/sql/parser.js';
import { updatedTable } from '../../src/sql/update-target.js';

test('updatedTable reads the target of an UPDATE, a WITH clause allowed, and refuses anything else', () => {
  expect(updatedTable(`WITH p AS (SELECT 1 AS v) UPDATE "a b"."c" AS t SET x = p.v FROM p`)).toEqual({
    schema: 'a b',
    table: 'c',
  });
  expect(() => updatedTable('UPDATE users SET x = 1')).toThrow(SqlParseError);
  expect(() => updatedTable('SELECT 1 FROM public.users')).toThrow(SqlParseError);
});

test('the refusal lists each problem and each fix once', () => {
  const { message, hint } = untrustedCodeError('public.users', [
    { problem: 'role x may create triggers on table public.users', fix: 'REVOKE TRIGGER ON public.users FROM x' },
    {
      problem: 'trigger a on table public.users runs function f(), owned by role x',
      fix: 'ALTER FUNCTION f() OWNER TO o',
    },
    {
      problem: 'trigger b on table public.users runs function f(), owned by role x',
      fix: 'ALTER FUNCTION f() OWNER TO o',
    },
  ]);
  expect(message).toContain('role x may create triggers on table public.users; trigger a on table');
  expect(hint).toContain('take it away: REVOKE TRIGGER ON public.users FROM x; ALTER FUNCTION f() OWNER TO o (or drop');
  expect(hint).toContain('GRANT <role> TO <migrator>');
});
