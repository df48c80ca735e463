import { expect, test } from 'vitest';
import { backfillTables } from '../../src/backfill/table-trust.js';
import { backfillPlan } from '../../src/operations/index.js';
import { untrustedCodeError } from '../../src/session/table-trust.js';
import { SqlParseError } from '../../src/sql/parser.js';
import { updatedTable } from '../../src/sql/update-target.js';
import type { MoveChange } from '../../src/spec/types.js';
import { renamePlan } from '../support/fixtures-backfill.js';

const move: MoveChange = {
  kind: 'move',
  id: 'users-address',
  move: {
    from: { schema: 'public', table: 'users', column: 'address' },
    to: { schema: 'Shop', table: 'Profiles', column: 'address' },
    on: [{ from: 'id', to: 'user_id' }],
  },
  column: { type: 'text', nullable: true, indexes: [], constraints: [] },
  key: { columns: ['id'], types: ['bigint'] },
  target: { existingColumn: false, uniqueIndex: 'profiles_user_id_key' },
  releases: { phase1: '1', phase2: '2', phase3: '3' },
};

test("the tables a backfill touches: a rename's table; a move's source and target, both ways", () => {
  expect(backfillTables(renamePlan('users'))).toEqual(['"public"."users"']);
  expect(backfillTables(backfillPlan(move, 'up'))).toEqual(['"public"."users"', '"Shop"."Profiles"']);
  expect(backfillTables(backfillPlan(move, 'down'))).toEqual(['"public"."users"', '"Shop"."Profiles"']);
});

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
  expect(hint).toMatch(/^REVOKE TRIGGER ON public.users FROM x; ALTER FUNCTION f\(\) OWNER TO o \(or drop/);
  expect(hint).toContain('GRANT <role> TO <migrator>');
});
