import { expect, test } from 'vitest';
import { quoteLiteral } from '../../src/render/quote.js';
import { untrustedCodeCheckSql, untrustedCodeFunctionSql } from '../../src/render/untrusted-code-check.js';
import { untrustedCodeError } from '../../src/session/table-trust.js';
import { SqlParseError } from '../../src/sql/parser.js';
import { UNTRUSTED_CODE_SQL } from '../../src/sql/untrusted-code.js';
import { updatedColumns, updatedTable } from '../../src/sql/update-target.js';

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

test('updatedColumns reads the columns an UPDATE assigns, in SET order', () => {
  expect(updatedColumns(`WITH p AS (SELECT 1 AS v) UPDATE "a"."c" AS t SET "x y" = p.v, z = 1 FROM p`)).toEqual([
    'x y',
    'z',
  ]);
});

test("the generated files' check calls one function that runs the runner's own query and raises its message and hint", () => {
  const sql = untrustedCodeCheckSql('pub lic', "o'rders", ['amount'], ['public.cents']);
  expect(sql).toContain(
    `PERFORM phasectl.refuse_untrusted_code('"pub lic"."o''rders"'::pg_catalog.text, ARRAY['amount']::pg_catalog.text[], ARRAY['public.cents']::pg_catalog.text[]);`,
  );
  expect(sql).not.toContain(UNTRUSTED_CODE_SQL);
  expect(untrustedCodeCheckSql('pub lic', "o'rders", ['amount'], ['public.cents'])).toBe(sql);
  // One home: the function's query is the runner's, verbatim, and the message pieces are untrustedCodeError's.
  const fn = untrustedCodeFunctionSql();
  expect(fn).toContain(`$phasectl_untrusted_code$${UNTRUSTED_CODE_SQL}$phasectl_untrusted_code$`);
  expect(fn).toContain('SECURITY INVOKER SET search_path = pg_catalog, pg_temp');
  const { message, hint } = untrustedCodeError('"pub lic"."o\'rders"', [{ problem: 'P', fix: 'F' }]);
  expect(fn).toContain(quoteLiteral(message.slice('"pub lic"."o\'rders"'.length, -1)));
  expect(fn).toContain(quoteLiteral(hint.slice(hint.indexOf(' (or drop'))));
});
