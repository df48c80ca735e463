import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { phaseSteps } from '../../src/operations/index.js';
import type { RenameChange } from '../../src/spec/types.js';
import { applyPhase, catalogSnapshot, readColumnFacts } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`
    CREATE TABLE public.counters (id int PRIMARY KEY, hits int NOT NULL DEFAULT 0 CHECK (hits >= 0));
    CREATE INDEX counters_hits_idx ON public.counters (hits);
    INSERT INTO public.counters SELECT n, n * 10 FROM generate_series(1, 1200) AS n;
    CREATE TABLE public.orders (tenant int, id int, amount numeric(12,2), PRIMARY KEY (tenant, id));
    INSERT INTO public.orders SELECT n % 3, n, CASE WHEN n % 10 = 0 THEN NULL ELSE n * 1.25 END FROM generate_series(1, 1500) AS n;`);
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

test('int → bigint with the default casts: values, default, NOT NULL, CHECK and index move; downs restore', async () => {
  const change: RenameChange = {
    kind: 'rename',
    id: 'counters-hits-to-hit-count',
    rename: { schema: 'public', table: 'counters', from: 'hits', to: 'hit_count', type: 'bigint' },
    column: await readColumnFacts(client, 'public.counters', 'hits'),
    key: { columns: ['id'], types: ['integer'] },
    releases: { phase1: '1', phase2: '2', phase3: '3' },
  };
  expect(change.column).toMatchObject({ type: 'integer', nullable: false, default: '0' });
  const [p1, p2, p3] = [phaseSteps(change, 1), phaseSteps(change, 2), phaseSteps(change, 3)];
  const original = await catalogSnapshot(client, 'public.counters');
  await applyPhase(client, p1, 'up');
  await client.query('UPDATE public.counters SET hits = 7 WHERE id = 1');
  const { rows } = await client.query('SELECT hits, hit_count FROM public.counters WHERE id IN (1, 2) ORDER BY id');
  expect(rows).toEqual([
    { hits: 7, hit_count: '7' },
    { hits: 20, hit_count: '20' },
  ]);
  // A value the old type cannot hold is refused (down cast fails): never silently diverging.
  await expect(client.query('UPDATE public.counters SET hit_count = 5000000000 WHERE id = 3')).rejects.toThrow(
    /out of range/,
  );
  await applyPhase(client, p2, 'up');
  const phase2 = await catalogSnapshot(client, 'public.counters');
  await applyPhase(client, p3, 'up');
  const { rows: columns } = await client.query(
    `SELECT format_type(atttypid, atttypmod) AS type, attnotnull, pg_get_expr(adbin, adrelid) AS def FROM pg_attribute
     LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum WHERE attrelid = 'public.counters'::regclass AND attname = 'hit_count'`,
  );
  expect(columns).toEqual([{ type: 'bigint', attnotnull: true, def: '(0)::bigint' }]); // up(default)
  await expect(client.query('INSERT INTO public.counters (id, hit_count) VALUES (9999, -1)')).rejects.toThrow(
    /check constraint/,
  );
  await client.query('UPDATE public.counters SET hit_count = 8 WHERE id = 2');
  await applyPhase(client, p3, 'down');
  expect(await catalogSnapshot(client, 'public.counters')).toEqual(phase2);
  const { rows: restored } = await client.query('SELECT hits, hit_count FROM public.counters WHERE id = 2');
  expect(restored).toEqual([{ hits: 8, hit_count: '8' }]);
  await applyPhase(client, p2, 'down');
  await applyPhase(client, p1, 'down');
  expect(await catalogSnapshot(client, 'public.counters')).toEqual(original);
});

test('numeric → bigint cents with up/down expressions over a composite key, NULLs included', async () => {
  const change: RenameChange = {
    kind: 'rename',
    id: 'orders-amount-to-cents',
    rename: {
      schema: 'public',
      table: 'orders',
      from: 'amount',
      to: 'amount_cents',
      type: 'bigint',
      up: 'round(amount * 100)::bigint',
      down: 'amount_cents / 100.0',
    },
    column: await readColumnFacts(client, 'public.orders', 'amount'),
    key: { columns: ['tenant', 'id'], types: ['integer', 'integer'] },
    releases: { phase1: '1', phase2: '2', phase3: '3' },
  };
  const [p1, p2, p3] = [phaseSteps(change, 1), phaseSteps(change, 2), phaseSteps(change, 3)];
  const original = await catalogSnapshot(client, 'public.orders');
  const originalData = (await client.query('SELECT tenant, id, amount FROM public.orders ORDER BY 1, 2')).rows;
  await applyPhase(client, p1, 'up');
  const { rows: wrong } = await client.query(
    'SELECT count(*)::int AS n FROM public.orders WHERE amount_cents IS DISTINCT FROM round(amount * 100)::bigint',
  );
  expect(wrong[0].n).toBe(0);
  expect((await client.query('SELECT amount_cents FROM public.orders WHERE id = 10')).rows[0].amount_cents).toBeNull();
  await client.query('UPDATE public.orders SET amount = 3.10 WHERE id = 1');
  expect((await client.query('SELECT amount_cents FROM public.orders WHERE id = 1')).rows[0].amount_cents).toBe('310');
  await client.query('UPDATE public.orders SET amount_cents = 999 WHERE id = 2');
  expect((await client.query('SELECT amount FROM public.orders WHERE id = 2')).rows[0].amount).toBe('9.99');
  await client.query('UPDATE public.orders SET amount = NULL WHERE id = 3');
  expect((await client.query('SELECT amount_cents FROM public.orders WHERE id = 3')).rows[0].amount_cents).toBeNull();
  await client.query('INSERT INTO public.orders (tenant, id, amount_cents) VALUES (1, 5000, 1234)');
  expect((await client.query('SELECT amount FROM public.orders WHERE id = 5000')).rows[0].amount).toBe('12.34');
  await applyPhase(client, p2, 'up');
  await client.query('UPDATE public.orders SET amount = 1.00, amount_cents = 250 WHERE id = 4');
  expect((await client.query('SELECT amount, amount_cents FROM public.orders WHERE id = 4')).rows[0]).toEqual({
    amount: '2.50',
    amount_cents: '250',
  });
  await applyPhase(client, p3, 'up');
  await applyPhase(client, p3, 'down');
  expect((await client.query('SELECT amount FROM public.orders WHERE id = 2')).rows[0].amount).toBe('9.99');
  await applyPhase(client, p2, 'down');
  await applyPhase(client, p1, 'down');
  await client.query('DELETE FROM public.orders WHERE id = 5000');
  await client.query(
    'UPDATE public.orders SET amount = CASE id WHEN 1 THEN 1.25 WHEN 2 THEN 2.50 WHEN 3 THEN 3.75 WHEN 4 THEN 5.00 END WHERE id <= 4',
  );
  expect(await catalogSnapshot(client, 'public.orders')).toEqual(original);
  expect((await client.query('SELECT tenant, id, amount FROM public.orders ORDER BY 1, 2')).rows).toEqual(originalData);
});
