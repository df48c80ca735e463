import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import { planRename } from '../../src/commands/plan.js';
import { migrate } from '../../src/commands/migrate.js';
import { rollback } from '../../src/commands/rollback.js';
import { loadPhasesFile } from '../../src/spec/load.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, emptyProject } from '../support/test-project.js';

/** Renames that change the type, planned against a real server and applied through the generated files. */
const cleanups = cleanupsAfterAll();
let url: string;
beforeAll(async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  url = db.url;
  await query(
    url,
    `
    CREATE TABLE public.orders (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL);
    INSERT INTO public.orders SELECT g, g * 1.25 FROM generate_series(1, 3000) g;
    CREATE TABLE public.items (id bigint PRIMARY KEY, code text, qty int);
    INSERT INTO public.items VALUES (1, '10', 1), (2, '20', 2), (3, 'x3', 3), (4, '40', 4);`,
  );
});

async function project(): Promise<string> {
  const dir = await emptyProject(cleanups, 'phasectl-types-');
  return dir;
}

test('plan refuses a type change without --up/--down when PostgreSQL has no assignment cast, and accepts one that has', async () => {
  const dir = await project();
  await expect(
    planRename({ projectDir: dir, target: 'items.code', newName: 'code_num', type: 'integer', databaseUrl: url }),
  ).rejects.toMatchObject({
    message: expect.stringMatching(/no assignment cast for --up \(text → integer\)/),
    hint: expect.stringContaining('--up'),
  });
  // integer → text is an assignment (I/O) conversion, text → integer is not: only --down is missing.
  await expect(
    planRename({ projectDir: dir, target: 'items.qty', newName: 'qty_text', type: 'text', databaseUrl: url }),
  ).rejects.toThrow(/no assignment cast for --down \(text → integer\)$/);
  await expect(
    planRename({ projectDir: dir, target: 'items.qty', newName: 'qty_big', type: 'bigint', databaseUrl: url }),
  ).resolves.toMatchObject({ change: { rename: { type: 'bigint' } } });
  // numeric → bigint has an assignment cast both ways, but drops the cents of 1.25: refused as lossy, accepted with lossy.
  await expect(
    planRename({ projectDir: dir, target: 'orders.amount', newName: 'amount_int', type: 'bigint', databaseUrl: url }),
  ).rejects.toThrow(/down\(up\(amount\)\) does not give the value back on the row id=1: amount = 1.25/);
  await expect(
    planRename({
      projectDir: dir,
      target: 'orders.amount',
      newName: 'amount_int',
      type: 'bigint',
      lossy: true,
      databaseUrl: url,
    }),
  ).resolves.toMatchObject({ change: { rename: { type: 'bigint', lossy: true } } });
  const { spec } = await loadPhasesFile(join(dir, 'phases.yaml'));
  expect(spec.changes.map((change) => change.id)).toEqual(['items-qty-to-qty-big', 'orders-amount-to-amount-int']);
});

test('numeric(12,2) → bigint cents with up/down through three releases and back', async () => {
  const dir = await project();
  const planned = await planRename({
    projectDir: dir,
    target: 'orders.amount',
    newName: 'amount_cents',
    id: 'orders-cents',
    type: 'bigint',
    up: 'round(amount * 100)::bigint',
    down: 'amount_cents / 100.0',
    databaseUrl: url,
  });
  expect(planned.change.rename).toMatchObject({
    type: 'bigint',
    up: 'round(amount * 100)::bigint',
    down: 'amount_cents / 100.0',
  });
  const { spec } = await loadPhasesFile(join(dir, 'phases.yaml'));
  expect(spec.changes[0]).toMatchObject({
    rename: { up: 'round(amount * 100)::bigint', down: 'amount_cents / 100.0' },
  });
  for (const release of ['1.0.0', '1.1.0', '1.2.0']) await advance({ projectDir: dir, release });

  await migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.0.0' });
  expect(
    await query(
      url,
      'SELECT count(*)::int AS n FROM public.orders WHERE amount_cents IS DISTINCT FROM round(amount * 100)::bigint',
    ),
  ).toEqual([{ n: 0 }]);
  await query(url, `UPDATE public.orders SET amount = 12.34 WHERE id = 1`); // old code
  await migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.1.0' });
  await query(url, `UPDATE public.orders SET amount_cents = 5678 WHERE id = 2`); // new code
  expect(
    await query(url, 'SELECT id, amount::text, amount_cents::int FROM public.orders WHERE id IN (1, 2) ORDER BY id'),
  ).toEqual([
    { id: '1', amount: '12.34', amount_cents: 1234 },
    { id: '2', amount: '56.78', amount_cents: 5678 },
  ]);
  await migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.2.0' });
  expect(
    await query(
      url,
      `SELECT format_type(atttypid, atttypmod) AS type, attnotnull FROM pg_attribute WHERE attrelid = 'public.orders'::regclass AND attname = 'amount_cents'`,
    ),
  ).toEqual([{ type: 'bigint', attnotnull: true }]);
  await query(url, `UPDATE public.orders SET amount_cents = 999 WHERE id = 3`);

  await rollback({ databaseUrl: url, projectDir: dir, release: '1.2.0' });
  expect(
    await query(url, 'SELECT id, amount::text FROM public.orders WHERE id IN (1, 2, 3, 3000) ORDER BY id'),
  ).toEqual([
    { id: '1', amount: '12.34' },
    { id: '2', amount: '56.78' },
    { id: '3', amount: '9.99' },
    { id: '3000', amount: '3750.00' },
  ]);
  await rollback({ databaseUrl: url, projectDir: dir, release: '1.1.0' });
  await rollback({ databaseUrl: url, projectDir: dir, release: '1.0.0' });
  expect(
    await query(
      url,
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'orders' ORDER BY column_name`,
    ),
  ).toEqual([
    { column_name: 'amount', data_type: 'numeric' },
    { column_name: 'id', data_type: 'bigint' },
  ]);
});

test('a value `up` cannot convert stops the generated backfill at its key, with the fix in the hint', async () => {
  const dir = await project();
  // plan checks every row (item 3 converts then); the bad value arrives between plan and migrate.
  await query(url, `UPDATE public.items SET code = '30' WHERE id = 3`);
  await planRename({
    projectDir: dir,
    target: 'items.code',
    newName: 'code_num',
    id: 'items-code',
    type: 'integer',
    up: 'code::integer',
    down: 'code_num::text',
    databaseUrl: url,
  });
  await query(url, `UPDATE public.items SET code = 'x3' WHERE id = 3`);
  await advance({ projectDir: dir, release: '1.0.0' });
  const failure = await migrate({ databaseUrl: url, projectDir: dir }).then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(String(failure)).toMatch(/id=3/);
  expect(String(failure)).toMatch(/invalid input syntax for type integer: "x3"/);
  expect((failure as { hint?: string }).hint).toMatch(/fix that row's value .*id=3/);
  // The failing batch was rolled back as a whole: nothing half-converted. Fixing the value and migrating again finishes.
  expect(await query(url, 'SELECT count(*)::int AS n FROM public.items WHERE code_num IS NOT NULL')).toEqual([
    { n: 0 },
  ]);
  await query(url, `UPDATE public.items SET code = '30' WHERE id = 3`);
  await migrate({ databaseUrl: url, projectDir: dir });
  expect(await query(url, 'SELECT id, code_num FROM public.items ORDER BY id')).toEqual([
    { id: '1', code_num: 10 },
    { id: '2', code_num: 20 },
    { id: '3', code_num: 30 },
    { id: '4', code_num: 40 },
  ]);
});
