import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * A type change whose up(down(y)) is not y: int cents → numeric euros (`price::numeric / 100` gives
 * 0.11000000000000000000; the new release writes 0.11, the sync stores 11 cents). From phase 2 on, the new column is
 * the authority and such a row is in sync (price = down(price_eur)). Phase 3's verify (and `verify`, and the repair's
 * filter) counted it as differing for ever, and the repair it named could not change that: phase 3 could never run.
 */
const cleanups = cleanupsAfterAll();

test('phase 3 of a type change whose conversion does not round-trip the new values: the new release writes count as in sync', async () => {
  const { url, run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.prices (id bigint PRIMARY KEY, price integer NOT NULL);
     INSERT INTO public.prices SELECT g, g * 7 FROM generate_series(1, 30) g;`,
    'phasectl-round-trip-',
  );
  await ok('init');
  await ok(
    'plan',
    'rename',
    'prices.price',
    'price_eur',
    '--type',
    'numeric',
    '--up',
    'price::numeric / 100',
    '--down',
    'round(price_eur * 100)::integer',
    '--id',
    'prices-price',
  );
  for (const release of ['1.0.0', '2.0.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  // The new release writes euros; the old one, still running, cents.
  await query(
    url,
    `UPDATE public.prices SET price_eur = 0.11 WHERE id = 1;
     INSERT INTO public.prices (id, price_eur) VALUES (100, 2.5);
     UPDATE public.prices SET price = 1234 WHERE id = 2;`,
  );
  expect(
    await query(url, `SELECT id::int, price, price_eur::text FROM public.prices WHERE id IN (1, 2, 100) ORDER BY id`),
  ).toEqual([
    { id: 1, price: 11, price_eur: '0.11' },
    { id: 2, price: 1234, price_eur: '12.3400000000000000' },
    { id: 100, price: 250, price_eur: '2.5' },
  ]);
  const verified = await run('verify', 'prices-price');
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
  expect(verified.stdout).toContain('0 differing');

  // A row the sync really missed is still found.
  await query(
    url,
    `ALTER TABLE public.prices DISABLE TRIGGER "zz_phasectl_sync_prices_price";
     UPDATE public.prices SET price_eur = 9.99 WHERE id = 3;
     ALTER TABLE public.prices ENABLE ALWAYS TRIGGER "zz_phasectl_sync_prices_price";`,
  );
  const found = await run('verify', 'prices-price');
  expect(found.code).toBe(1);
  await ok('backfill', 'prices-price', '--repair', '--quiet');
  expect(await query(url, `SELECT price FROM public.prices WHERE id = 3`)).toEqual([{ price: 999 }]);

  await ok('advance', '--release', '3.0.0');
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.prices', 'price')).toBe(false);
  expect(await query(url, `SELECT price_eur::text FROM public.prices WHERE id IN (1, 100) ORDER BY id`)).toEqual([
    { price_eur: '0.11' },
    { price_eur: '2.5' },
  ]);
});
