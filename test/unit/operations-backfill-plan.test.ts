import { expect, test } from 'vitest';
import { backfillTables } from '../../src/backfill/table-trust.js';
import { backfillPlan, phaseSteps, repairPlan } from '../../src/operations/index.js';
import type { Change, MoveChange, RenameChange } from '../../src/spec/types.js';

/** Issue 16 item 5: `backfillPlan(change, direction)` is the one source of a plan, and every step that runs one embeds it. */
const rename: RenameChange = {
  kind: 'rename',
  id: 'orders-amount',
  rename: {
    schema: 'public',
    table: 'orders',
    from: 'amount',
    to: 'amount_cents',
    type: 'bigint',
    up: 'round(amount * 100)::bigint',
    down: 'amount_cents / 100.0',
  },
  column: { type: 'numeric(12,2)', nullable: false, indexes: [], constraints: [] },
  key: { columns: ['tenant', 'id'], types: ['int', 'bigint'] },
  releases: { phase1: '1', phase2: '2', phase3: '3' },
};
const move: MoveChange = {
  kind: 'move',
  id: 'users-address',
  move: {
    from: { schema: 'public', table: 'users', column: 'address' },
    to: { schema: 'public', table: 'profiles', column: 'address' },
    on: [{ from: 'id', to: 'user_id' }],
  },
  column: { type: 'text', nullable: true, indexes: [], constraints: [] },
  key: { columns: ['id'], types: ['bigint'] },
  target: { existingColumn: false, uniqueIndex: 'profiles_user_id_key' },
  releases: { phase1: '1', phase2: '2', phase3: '3' },
};

test.each([rename, move] as Change[])(
  'the plans the steps of $kind embed are backfillPlan(change, direction)',
  (change) => {
    const up = backfillPlan(change, 'up');
    const down = backfillPlan(change, 'down');
    expect(up).toMatchObject({
      changeId: change.id,
      direction: 'up',
      keyColumns: change.key.columns,
      keyTypes: change.key.types,
      suppressSetting: 'phasectl.backfill',
    });
    expect(down).toMatchObject({ changeId: change.id, direction: 'down' });
    expect(down.updateSql).not.toBe(up.updateSql);

    const planned = ([1, 2, 3] as const).flatMap((phase) => {
      const steps = phaseSteps(change, phase);
      return [...steps.up, ...steps.down]
        .filter((step) => step.action !== 'sql')
        .map((step) => ({ step: `p${phase} ${step.direction} ${step.name}`, plan: step.backfill }));
    });
    expect(planned).toEqual([
      { step: 'p1 up backfill', plan: up },
      { step: 'p2 up verify', plan: up },
      // From phase 2 on a type change counts what its repair rewrites (in sync: either column the other's conversion).
      { step: 'p3 up verify', plan: change.kind === 'rename' && change.rename.type ? repairPlan(change, 'new') : up },
      { step: 'p3 down backfill-old', plan: down },
    ]);
  },
);

test('a count of differing rows is the same statement in the plan and in the DO block for other runners', () => {
  const plan = backfillPlan(move, 'up');
  const verify = phaseSteps(move, 2).up.find((step) => step.name === 'verify');
  const rows = plan.countDifferentSql.replace(/^SELECT pg_catalog\.count\(\*\)::bigint AS differing /, '');
  const joined = rows.slice(0, rows.indexOf(' WHERE '));
  expect(verify?.sql).toContain(`SELECT pg_catalog.count(*) INTO in_batch ${joined} WHERE `);
});

test("the tables a backfill touches (src/backfill/table-trust.ts): a rename's table; a move's source and the table it writes", () => {
  expect(backfillTables(backfillPlan(rename, 'up'))).toEqual(['"public"."orders"']);
  expect(backfillTables(backfillPlan(move, 'up'))).toEqual(['"public"."users"', '"public"."profiles"']);
  // Down: the source is walked and written (the target is only read).
  expect(backfillTables(backfillPlan(move, 'down'))).toEqual(['"public"."users"']);
});
