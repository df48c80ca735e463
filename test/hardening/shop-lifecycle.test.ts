import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { runBackfill } from '../../src/backfill/engine.js';
import { advance } from '../../src/commands/advance.js';
import { initialPhasesText } from '../../src/commands/init.js';
import { planRename } from '../../src/commands/plan.js';
import { InputError, RuntimeFailure } from '../../src/errors.js';
import { phaseSteps } from '../../src/operations/index.js';
import { migrate } from '../../src/commands/migrate.js';
import { rollback } from '../../src/commands/rollback.js';
import { applySteps } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';
import { createOwnerRole } from '../support/hardening-roles.js';
import { plannedRename } from '../support/hardening-rename.js';

/**
 * A realistic application schema (test/fixtures/shop.sql, ~370k rows: partitioned orders, a view, a domain,
 * an enum, updated_at triggers, a tsvector column with a GIN index, foreign keys), owned by a role that is
 * NOT superuser and only has CREATE on the database. Four renames go through their three releases with
 * `advance` + `migrate`, as that role, while an application client keeps writing: no write is lost and the
 * schema is as expected after each release. Skippable with PHASECTL_SKIP_SLOW=1 (runs by default).
 */
const slow = process.env.PHASECTL_SKIP_SLOW === '1';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let owner: Awaited<ReturnType<typeof createOwnerRole>>;
let ownerClient: pg.Client;
let dir: string;
beforeAll(async () => {
  if (slow) return;
  db = await createTestDatabase();
  owner = await createOwnerRole(db.url, db.name);
  ownerClient = new pg.Client({ connectionString: owner.url });
  await ownerClient.connect();
  await ownerClient.query(readFileSync(new URL('../fixtures/shop.sql', import.meta.url), 'utf8'));
  dir = await mkdtemp(join(tmpdir(), 'phasectl-shop-'));
  await mkdir(join(dir, 'db', 'migrations'), { recursive: true });
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText());
}, 120_000);
afterAll(async () => {
  if (slow) return;
  await ownerClient?.end();
  if (dir) await rm(dir, { recursive: true, force: true });
  await db?.drop();
  await owner?.drop();
});

const rows = async <R extends pg.QueryResultRow = Record<string, unknown>>(sql: string) =>
  (await ownerClient.query<R>(sql)).rows;
const columnsOf = async (table: string) =>
  (
    await rows<{ name: string }>(
      `SELECT attname AS name FROM pg_attribute WHERE attrelid = 'shop.${table}'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attname`,
    )
  ).map((row) => row.name);

test.skipIf(slow)('the fixture is owned by a role that is not superuser', async () => {
  expect(await rows(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`)).toEqual([
    { rolsuper: false, rolbypassrls: false },
  ]);
  expect(
    await rows(
      `SELECT count(*)::int AS n FROM pg_class WHERE relnamespace = 'shop'::regnamespace AND relkind IN ('r', 'p') AND relowner <> (SELECT oid FROM pg_roles WHERE rolname = current_user)`,
    ),
  ).toEqual([{ n: 0 }]);
  const tables = [
    'categories',
    'products',
    'customers',
    'addresses',
    'orders',
    'order_items',
    'payments',
    'inventory',
    'reviews',
  ];
  const [stats] = await rows<{ total: number }>(
    `SELECT (${tables.map((table) => `(SELECT count(*) FROM shop.${table})`).join(' + ')})::int AS total`,
  );
  expect(stats?.total).toBeGreaterThan(300_000);
});

test.skipIf(slow)(
  'plan refuses what the shop schema makes unsafe: the partition key of orders, reviews.body behind a stored generated column',
  async () => {
    const refusal = async (table: string, column: string) => {
      const error = await planRename({
        projectDir: dir,
        target: `shop.${table}.${column}`,
        newName: `${column}_new`,
        databaseUrl: owner.url,
      }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InputError);
      return (error as InputError).message;
    };
    expect(await refusal('orders', 'placed_at')).toMatch(/is part of the partition key of shop\.orders/);
    expect(await refusal('reviews', 'body')).toBe(
      'shop.reviews.body is used by stored generated column body_search; phase 3 could not drop it safely',
    );
  },
);

test.skipIf(slow)(
  'four renames, three releases, migrate as the owner under writes: no write lost',
  async () => {
    const renames: Array<[string, string, string, string]> = [
      ['customers', 'full_name', 'display_name', 'customers-full-name'],
      ['products', 'name', 'title', 'products-name'],
      ['payments', 'method', 'payment_method', 'payments-method'],
      ['inventory', 'warehouse', 'location', 'inventory-warehouse'],
    ];
    for (const [table, from, to, id] of renames)
      await planRename({ projectDir: dir, target: `shop.${table}.${from}`, newName: to, id, databaseUrl: owner.url });
    for (const release of ['1.0.0', '1.1.0', '1.2.0']) await advance({ projectDir: dir, release });

    // The application: renames customers' names and records payments; which column it writes follows the release.
    const app = new pg.Client({ connectionString: owner.url });
    await app.connect();
    let column = 'old' as 'old' | 'both' | 'new';
    let stop = false;
    const expectedNames = new Map<number, string>();
    const insertedPayments: number[] = [];
    const failures: unknown[] = [];
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const id = 1 + ((i * 7919) % 50_000);
        const useNew = column === 'new' || (column === 'both' && i % 2 === 1);
        const name = `name ${i}`;
        try {
          await app.query(`UPDATE shop.customers SET ${useNew ? 'display_name' : 'full_name'} = $2 WHERE id = $1`, [
            id,
            name,
          ]);
          expectedNames.set(id, name);
          const paymentId = 1_000_000 + i;
          await app.query(
            `INSERT INTO shop.payments (id, order_id, amount, ${useNew ? 'payment_method' : 'method'}) VALUES ($1, 1, 9.99, 'voucher')`,
            [paymentId],
          );
          insertedPayments.push(paymentId);
        } catch (error) {
          // Each release writes only columns that exist in it: any error (a column dropped too early included) is a failure.
          failures.push(`${useNew ? 'new' : 'old'} code, customer ${id}: ${String(error)}`);
          return;
        }
      }
    })();
    const pause = () => new Promise((resolve) => setTimeout(resolve, 200));

    try {
      await pause();
      const first = await migrate({ databaseUrl: owner.url, projectDir: dir, toRelease: '1.0.0' });
      expect(first.applied.filter((file) => file.action === 'backfill')).toHaveLength(4);
      expect(await columnsOf('customers')).toEqual([
        'created_at',
        'display_name',
        'email',
        'full_name',
        'id',
        'updated_at',
      ]);
      expect(
        await rows(`SELECT count(*)::int AS n FROM shop.customers WHERE display_name IS DISTINCT FROM full_name`),
      ).toEqual([{ n: 0 }]);
      expect(
        await rows(
          `SELECT indexrelid::regclass::text AS name, indisvalid AS valid FROM pg_index WHERE indrelid = 'shop.products'::regclass AND NOT indisprimary ORDER BY 1`,
        ),
      ).toEqual([
        { name: 'shop.products_name_lower', valid: true },
        { name: 'shop.products_title_lower', valid: true },
      ]);
      column = 'both';
      await pause();
      await migrate({ databaseUrl: owner.url, projectDir: dir, toRelease: '1.1.0' });
      expect(await rows(`SELECT id, phase FROM phasectl.changes ORDER BY id`)).toEqual(
        renames.map(([, , , id]) => ({ id, phase: 2 })).sort((a, b) => a.id.localeCompare(b.id)),
      );
      await pause();
      column = 'new';
      await pause();
      await migrate({ databaseUrl: owner.url, projectDir: dir, toRelease: '1.2.0' });
      await pause();
    } finally {
      stop = true;
      await writer;
      await app.end();
    }

    expect(failures).toEqual([]);
    expect(expectedNames.size).toBeGreaterThan(50);
    expect(await columnsOf('customers')).toEqual(['created_at', 'display_name', 'email', 'id', 'updated_at']);
    expect(await columnsOf('payments')).toEqual(['amount', 'id', 'order_id', 'paid_at', 'payment_method']);
    expect(await columnsOf('inventory')).toEqual(['location', 'on_hand', 'product_id']);
    expect(
      await rows(`SELECT attnotnull AS not_null, pg_get_expr(adbin, adrelid) AS "default" FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
                     WHERE attrelid = 'shop.customers'::regclass AND attname = 'display_name'`),
    ).toEqual([{ not_null: true, default: "'anonymous'::text" }]);
    // Every committed write is there: customers' last names, every payment, every untouched row as generated.
    const names = await rows<{ id: string; display_name: string }>(
      `SELECT id, display_name FROM shop.customers ORDER BY id`,
    );
    const wrongNames = names.filter(
      (row) => row.display_name !== (expectedNames.get(Number(row.id)) ?? `Customer ${row.id}`),
    );
    expect(wrongNames).toEqual([]);
    expect(
      await rows(`SELECT count(*)::int AS n FROM shop.payments WHERE id >= 1000000 AND payment_method = 'voucher'`),
    ).toEqual([{ n: insertedPayments.length }]);
    expect(
      await rows(
        `SELECT count(*)::int AS n FROM shop.inventory WHERE location IS DISTINCT FROM CASE WHEN product_id % 10 = 0 THEN NULL ELSE 'WH-' || product_id % 4 END`,
      ),
    ).toEqual([{ n: 0 }]);
    expect(await rows(`SELECT count(*)::int AS n FROM shop.products WHERE title <> 'product ' || id`)).toEqual([
      { n: 0 },
    ]);
    expect(await rows(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'zz_phasectl_%'`)).toEqual([
      { n: 0 },
    ]);
    expect(
      await rows(
        `SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace = 'phasectl'::regnamespace AND proname <> 'refuse_untrusted_code'`,
      ),
    ).toEqual([{ n: 0 }]);

    // The owner can also roll the last release back: the old columns return with their values.
    await rollback({ databaseUrl: owner.url, projectDir: dir, release: '1.2.0' });
    expect(
      await rows(`SELECT count(*)::int AS n FROM shop.customers WHERE full_name IS DISTINCT FROM display_name`),
    ).toEqual([{ n: 0 }]);
    expect(
      await rows(`SELECT count(*)::int AS n FROM shop.payments WHERE method IS DISTINCT FROM payment_method`),
    ).toEqual([{ n: 0 }]);
  },
  150_000,
);

test.skipIf(slow)(
  "FORCE ROW LEVEL SECURITY switched on after plan: the owner's backfill fails loudly instead of skipping hidden rows",
  async () => {
    await ownerClient.query(`CREATE TABLE shop.notes (id int PRIMARY KEY, author text, body text);
    INSERT INTO shop.notes SELECT g, 'someone', 'note ' || g FROM generate_series(1, 300) g;`);
    const change = await plannedRename(
      owner.url,
      { schema: 'shop', table: 'notes', column: 'body' },
      'content',
      'notes-body',
    );
    const steps = phaseSteps(change, 1).up;
    await applySteps(
      ownerClient,
      steps.filter((step) => step.name === 'expand'),
    );
    await ownerClient.query(`ALTER TABLE shop.notes ENABLE ROW LEVEL SECURITY; ALTER TABLE shop.notes FORCE ROW LEVEL SECURITY;
    CREATE POLICY own_notes ON shop.notes USING (author = current_user)`);
    // Without the guard the owner would now see (and backfill) none of the 300 rows.
    expect(await rows(`SELECT count(*)::int AS n FROM shop.notes`)).toEqual([{ n: 0 }]);
    const error = await runBackfill(ownerClient, steps.find((step) => step.action === 'backfill')!.backfill!).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as Error).message).toMatch(/row-level security/);
    expect(await rows(`SELECT current_setting('row_security') AS setting`)).toEqual([{ setting: 'on' }]);
  },
);
