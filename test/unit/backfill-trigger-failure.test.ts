import { expect, test } from 'vitest';
import { contextFunctions } from '../../src/backfill/trigger-failure.js';

test("the functions an error's context names, innermost first", () => {
  expect(
    contextFunctions(
      'PL/pgSQL function public.audit_users() line 3 at SQL statement\nSQL function "wrap" statement 1\nSQL statement "UPDATE …"',
    ),
  ).toEqual(['public.audit_users()', 'wrap']);
  expect(contextFunctions(undefined)).toEqual([]);
  expect(contextFunctions('SQL statement "SELECT 1"')).toEqual([]);
});
