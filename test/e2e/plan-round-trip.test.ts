import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { phasectlProcess } from '../support/cli-process.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithProject } from '../support/test-project.js';

/**
 * Issue 17 item 8: a custom --up needs --down, and `plan` checks the conversion on every existing row
 * (read-only) before it records anything: up must succeed, down(up(x)) must give x back by identity.
 */
const cleanups = cleanupsAfterAll();
let url: string;
let dir: string;
beforeAll(async () => {
  ({ url, dir } = await databaseWithProject(
    cleanups,
    `
    CREATE TABLE public.orders (id bigint PRIMARY KEY, amount numeric(12,2));
    INSERT INTO public.orders SELECT g, CASE WHEN g % 100 = 0 THEN NULL ELSE g * 1.25 END FROM generate_series(1, 5000) g;
    CREATE TABLE public.invoices (id bigint PRIMARY KEY, status text);
    INSERT INTO public.invoices SELECT g, (g % 7)::text FROM generate_series(1, 3000) g;
    UPDATE public.invoices SET status = 'paid' WHERE id = 1234;
    CREATE TABLE public.measures (id int PRIMARY KEY, v numeric);
    INSERT INTO public.measures VALUES (1, 2.5), (2, 1.00), (3, NULL);
    CREATE TABLE public.ledger (id bigint PRIMARY KEY, amount numeric(12,2));
    INSERT INTO public.ledger SELECT g, g FROM generate_series(1, 10) g;
    CREATE TABLE public.audit (note text);
    CREATE FUNCTION public.sneaky(x numeric) RETURNS bigint LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO public.audit VALUES ('written by plan'); RETURN round(x * 100); END $$;`,
    'phasectl-roundtrip-',
  ));
});

const cli = (args: string[], env: Record<string, string | undefined> = { DATABASE_URL: url }) =>
  phasectlProcess(dir, args, env);
const phasesYaml = () => readFile(join(dir, 'phases.yaml'), 'utf8');

test('--up without --down: exit 2 before anything is read or written', async () => {
  const before = await phasesYaml();
  const result = await cli([
    'plan',
    'rename',
    'orders.amount',
    'amount_cents',
    '--type',
    'bigint',
    '--up',
    'round(amount * 100)::bigint',
  ]);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('--up needs --down');
  expect(await phasesYaml()).toBe(before);
}, 60_000);

test('a down that does not invert up, or a lossy cast, is refused with the first row; --lossy records it loudly', async () => {
  const before = await phasesYaml();
  const wrongDown = await cli([
    'plan',
    'rename',
    'orders.amount',
    'amount_cents',
    '--type',
    'bigint',
    '--up',
    'round(amount * 100)::bigint',
    '--down',
    'amount_cents / 10.0',
  ]);
  expect(wrongDown.code).toBe(2);
  expect(wrongDown.stderr).toContain(
    'down(up(amount)) does not give the value back on the row id=1: amount = 1.25, up gives amount_cents = 125, down gives back 12.50',
  );
  // A plain cast numeric(12,2) → bigint drops the cents: the same check applies without expressions.
  const cast = await cli(['plan', 'rename', 'orders.amount', 'amount_int', '--type', 'bigint']);
  expect(cast.code).toBe(2);
  expect(cast.stderr).toContain('row id=1: amount = 1.25, up gives amount_int = 1, down gives back 1.00');
  expect(await phasesYaml()).toBe(before);

  // Identity, not `=`: 1.00 → numeric(10,1) → 1.0 equals 1.00 but is another value for the application.
  const scale = await cli([
    'plan',
    'rename',
    'measures.v',
    'w',
    '--type',
    'numeric(10,1)',
    '--up',
    'CAST(v AS numeric(10,1))',
    '--down',
    'CAST(w AS numeric)',
  ]);
  expect(scale.code).toBe(2);
  expect(scale.stderr).toContain('row id=2: v = 1.00, up gives w = 1.0, down gives back 1.0');

  const accepted = await cli(['plan', 'rename', 'orders.amount', 'amount_int', '--type', 'bigint', '--lossy']);
  expect(accepted.code).toBe(0);
  expect(accepted.stdout).toContain(
    'WARNING (--lossy): down(up(amount)) does not give every value back, first on the row id=1',
  );
  expect(await phasesYaml()).toMatch(/to: amount_int\n\s+type: bigint\n\s+lossy: true\n/);
}, 120_000);

test('an exact conversion is checked on every row and accepted; a value up cannot convert is refused with its key', async () => {
  const exact = await cli([
    'plan',
    'rename',
    'measures.v',
    'v_text',
    '--type',
    'text',
    '--up',
    'v::text',
    '--down',
    'v_text::numeric',
  ]);
  expect(exact.code).toBe(0);
  expect(exact.stdout).toContain('checked: up converts all 3 existing row(s) and down(up(v)) gives each value back');

  const before = await phasesYaml();
  const bad = await cli([
    'plan',
    'rename',
    'invoices.status',
    'status_code',
    '--type',
    'integer',
    '--up',
    'status::integer',
    '--down',
    'status_code::text',
  ]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain(
    `the up expression fails on the row id=1234 (status = 'paid'): invalid input syntax for type integer: "paid"`,
  );
  expect(await phasesYaml()).toBe(before);
}, 120_000);

test('up runs read-only: an expression that writes is refused and wrote nothing', async () => {
  const result = await cli([
    'plan',
    'rename',
    'ledger.amount',
    'amount_cents',
    '--type',
    'bigint',
    '--up',
    'public.sneaky(amount)',
    '--down',
    'amount_cents / 100.0',
  ]);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/the up expression fails on the row id=1 .*read-only transaction/);
  expect(await query(url, 'SELECT count(*)::int AS n FROM public.audit')).toEqual([{ n: 0 }]);
}, 120_000);

test('offline plan says plainly that the conversion was not checked', async () => {
  const result = await cli(
    [
      'plan',
      'rename',
      'shop.items.code',
      'code_num',
      '--type',
      'text',
      '--key',
      'id:bigint',
      '--up',
      'trim(code)',
      '--down',
      'code_num',
    ],
    { DATABASE_URL: undefined },
  );
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('NOT CHECKED: plan ran offline');
}, 60_000);
