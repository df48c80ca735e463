import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { quoteIdent } from '../../src/render/quote.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn, roleIn } from '../support/test-project.js';

/**
 * Code another role owns, reached where the trust check of the table (test/e2e/table-trust-paths-cli.test.ts) did not
 * look: the functions and operators a type change's --up/--down call (the backfill runs them on every row as the
 * migrator, the sync trigger on every write as the writer), and the functions that trusted code calls in turn. The
 * hostile functions belong to a second, ordinary role and note `current_user` whenever they run; the migrator here is
 * a superuser.
 */
const cleanups = cleanupsAfterAll();

/** A role with `hostile_code.note(anyelement)` (true, and notes who ran it) and `hostile_code.cents(numeric)`. */
async function hostileRole(url: string) {
  const role = await roleIn(cleanups, url);
  await query(
    role.url,
    `CREATE SCHEMA hostile_code;
     GRANT USAGE ON SCHEMA hostile_code TO PUBLIC;
     CREATE TABLE hostile_code.runs (by_role text);
     GRANT INSERT ON hostile_code.runs TO PUBLIC;
     CREATE FUNCTION hostile_code.note(anyelement) RETURNS boolean LANGUAGE plpgsql AS $f$
     BEGIN INSERT INTO hostile_code.runs VALUES (current_user); RETURN true; END $f$;
     CREATE FUNCTION hostile_code.cents(numeric) RETURNS bigint LANGUAGE plpgsql AS $f$
     BEGIN PERFORM hostile_code.note($1); RETURN round($1 * 100); END $f$;
     CREATE FUNCTION hostile_code.times(numeric, integer) RETURNS numeric LANGUAGE plpgsql AS $f$
     BEGIN PERFORM hostile_code.note($1); RETURN $1 * $2; END $f$;
     CREATE OPERATOR hostile_code.*** (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = hostile_code.times);`,
  );
  /** The roles the hostile code ran as, once each. */
  const ranAs = async () =>
    (await query<{ r: string }>(url, `SELECT DISTINCT by_role AS r FROM hostile_code.runs ORDER BY 1`)).map(
      (row) => row.r,
    );
  return { ...role, ident: quoteIdent(role.name), ranAs };
}

const ORDERS = `CREATE TABLE public.orders (id bigint PRIMARY KEY, amount numeric(12, 2) NOT NULL);
  INSERT INTO public.orders SELECT g, g / 4.0 FROM generate_series(1, 200) g;`;

test("--up/--down calling another role's function or operator: refused at plan before anything runs it; handed over after plan: phase 1 stops before it runs", async () => {
  const project = await databaseWithFolder(cleanups, ORDERS, 'phasectl-conversion-trust-');
  const { url, run, ok } = project;
  const hostile = await hostileRole(url);
  await ok('init');
  const typeChange = ['--type', 'bigint', '--down', 'amount_cents / 100.0', '--id', 'cents'];
  const refused = await run(
    'plan',
    'rename',
    'orders.amount',
    'amount_cents',
    '--up',
    'hostile_code.cents(amount)',
    ...typeChange,
  );
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(
    `the up expression of change cents calls function hostile_code.cents(numeric), owned by role ${hostile.name}`,
  );
  expect(refused.stderr).toContain('ALTER FUNCTION hostile_code.cents(numeric) OWNER TO postgres');
  // The round-trip check never ran it.
  expect(await hostile.ranAs()).toEqual([]);
  expect(await readFile(join(project.dir, 'phases.yaml'), 'utf8')).not.toContain('cents');

  const operator = await run(
    'plan',
    'rename',
    'orders.amount',
    'amount_cents',
    '--up',
    'CAST(amount OPERATOR(hostile_code.***) 100 AS bigint)',
    ...typeChange,
  );
  expect(operator.code, operator.stderr).toBe(2);
  expect(operator.stderr).toContain(
    'the up expression of change cents calls function hostile_code.times(numeric,integer) ' +
      `(operator hostile_code.***(numeric,integer)), owned by role ${hostile.name}`,
  );
  expect(await hostile.ranAs()).toEqual([]);

  // The migrator's own function passes plan; then it is handed over and its body replaced.
  await query(
    url,
    `CREATE FUNCTION hostile_code.to_cents(numeric) RETURNS bigint LANGUAGE plpgsql AS $f$ BEGIN RETURN round($1 * 100); END $f$`,
  );
  await ok('plan', 'rename', 'orders.amount', 'amount_cents', '--up', 'hostile_code.to_cents(amount)', ...typeChange);
  await ok('advance', '--release', '1.0.0');
  await query(url, `ALTER FUNCTION hostile_code.to_cents(numeric) OWNER TO ${hostile.ident}`);
  await query(
    hostile.url,
    `CREATE OR REPLACE FUNCTION hostile_code.to_cents(numeric) RETURNS bigint LANGUAGE plpgsql AS $f$
     BEGIN PERFORM hostile_code.note($1); RETURN round($1 * 100); END $f$`,
  );
  const stopped = await run('migrate');
  expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(3);
  expect(stopped.stderr).toContain(
    `the up expression of change cents calls function hostile_code.to_cents(numeric), owned by role ${hostile.name}`,
  );
  expect(await hostile.ranAs()).toEqual([]);
  expect(await hasColumn(url, 'public.orders', 'amount_cents')).toBe(false);

  // Reviewed and handed back: phase 1 runs.
  await query(
    url,
    `ALTER FUNCTION hostile_code.to_cents(numeric) OWNER TO postgres;
     CREATE OR REPLACE FUNCTION hostile_code.to_cents(numeric) RETURNS bigint LANGUAGE plpgsql AS $f$
     BEGIN RETURN round($1 * 100); END $f$;`,
  );
  await ok('migrate', '--quiet');
  expect(await query(url, `SELECT count(*)::int AS n FROM public.orders WHERE amount_cents <> amount * 100`)).toEqual([
    { n: 0 },
  ]);

  // Handed over again after phase 1: every later pass (verify, a resumed or repairing backfill) checks before it
  // computes the conversion on a row.
  await query(url, `ALTER FUNCTION hostile_code.to_cents(numeric) OWNER TO ${hostile.ident}`);
  await query(
    hostile.url,
    `CREATE OR REPLACE FUNCTION hostile_code.to_cents(numeric) RETURNS bigint LANGUAGE plpgsql AS $f$
     BEGIN PERFORM hostile_code.note($1); RETURN round($1 * 100); END $f$`,
  );
  for (const args of [
    ['verify', 'cents'],
    ['backfill', 'cents', '--repair'],
  ]) {
    const refused = await run(...args);
    expect(refused.code, `${args.join(' ')}\n${refused.stdout}\n${refused.stderr}`).toBe(3);
    expect(refused.stderr).toContain(
      "the backfill's UPDATE of change cents (up) calls function hostile_code.to_cents(numeric), owned by role " +
        hostile.name,
    );
  }
  expect(await hostile.ranAs()).toEqual([]);
}, 300_000);

test("a trusted function called by the table's code or by --up, calling another role's function in a SQL-standard body: refused at plan, and at migrate when planted after plan", async () => {
  const project = await databaseWithFolder(cleanups, ORDERS, 'phasectl-call-chain-');
  const { url, run, ok } = project;
  const hostile = await hostileRole(url);
  await ok('init');
  // The migrator's function, whose body (BEGIN ATOMIC: pg_depend records its callees) calls the hostile one.
  await query(
    url,
    `CREATE FUNCTION public.valid_amount(numeric) RETURNS boolean LANGUAGE sql
     BEGIN ATOMIC SELECT hostile_code.note($1); END;
     ALTER TABLE public.orders ADD CONSTRAINT orders_amount_valid CHECK (public.valid_amount(amount)) NOT VALID;`,
  );
  const refused = await run('plan', 'rename', 'orders.amount', 'total', '--id', 'total');
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(
    'constraint orders_amount_valid on table public.orders of table public.orders calls function ' +
      'public.valid_amount(numeric), which calls function hostile_code.note(anyelement), owned by role ' +
      hostile.name,
  );
  expect(refused.stderr).toContain('ALTER FUNCTION hostile_code.note(anyelement) OWNER TO postgres');
  expect(await hostile.ranAs()).toEqual([]);

  // The same chain reached from --up.
  await query(
    url,
    `ALTER TABLE public.orders DROP CONSTRAINT orders_amount_valid;
     CREATE FUNCTION public.to_cents(numeric) RETURNS bigint LANGUAGE sql
     RETURN CASE WHEN hostile_code.note($1) THEN round($1 * 100) END;`,
  );
  const viaUp = await run(
    'plan',
    'rename',
    'orders.amount',
    'amount_cents',
    '--type',
    'bigint',
    '--up',
    'public.to_cents(amount)',
    '--down',
    'amount_cents / 100.0',
    '--id',
    'cents',
  );
  expect(viaUp.code, viaUp.stderr).toBe(2);
  expect(viaUp.stderr).toContain(
    'the up expression of change cents calls function public.to_cents(numeric), which calls function ' +
      `hostile_code.note(anyelement), owned by role ${hostile.name}`,
  );
  expect(await hostile.ranAs()).toEqual([]);

  // Planted after plan: the migrator's CHECK function is replaced (by the migrator, trusting it) to call the
  // hostile one; the backfill would evaluate the CHECK on every row it updates.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.valid_amount(numeric) RETURNS boolean LANGUAGE sql RETURN $1 >= 0;
     ALTER TABLE public.orders ADD CONSTRAINT orders_amount_valid CHECK (public.valid_amount(amount));`,
  );
  await ok('plan', 'rename', 'orders.amount', 'total', '--id', 'total');
  await ok('advance', '--release', '1.0.0');
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.valid_amount(numeric) RETURNS boolean LANGUAGE sql
     RETURN hostile_code.note($1) AND $1 >= 0;`,
  );
  const stopped = await run('migrate');
  expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(3);
  expect(stopped.stderr).toContain(
    `calls function public.valid_amount(numeric), which calls function hostile_code.note(anyelement), owned by role ${hostile.name}`,
  );
  expect(await hostile.ranAs()).toEqual([]);
  expect(await hasColumn(url, 'public.orders', 'total')).toBe(false);
}, 300_000);

test("a citext key puts public on the backfill's path: another role's closer-matching operator in public is refused, not run", async () => {
  // The walk appends the schema of the key's ordering operators (citext's: public) to search_path, and the batch's
  // UPDATE computes --up there: an exact-type `public.*(numeric, integer)` of a role with CREATE on public would beat
  // the built-in numeric * numeric that plan and the sync function resolve.
  const project = await databaseWithFolder(
    cleanups,
    `CREATE EXTENSION IF NOT EXISTS citext WITH SCHEMA public;
     CREATE TABLE public.orders (code public.citext PRIMARY KEY, amount numeric(12, 2) NOT NULL);
     INSERT INTO public.orders SELECT 'c' || g, g / 4.0 FROM generate_series(1, 200) g;`,
    'phasectl-key-path-',
  );
  const { url, run, ok } = project;
  const hostile = await hostileRole(url);
  await ok('init');
  const typeChange = ['--type', 'bigint', '--down', 'amount_cents / 100.0', '--id', 'cents'];
  await ok('plan', 'rename', 'orders.amount', 'amount_cents', '--up', 'round(amount * 100)::bigint', ...typeChange);
  await ok('advance', '--release', '1.0.0');
  await query(url, `GRANT CREATE ON SCHEMA public TO ${hostile.ident}`);
  await query(
    hostile.url,
    `CREATE FUNCTION public.times(numeric, integer) RETURNS numeric LANGUAGE plpgsql AS $f$
     BEGIN PERFORM hostile_code.note($1); RETURN $1 * $2::numeric; END $f$;
     CREATE OPERATOR public.* (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.times);`,
  );
  const stopped = await run('migrate');
  expect(await hostile.ranAs()).toEqual([]);
  expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(3);
  expect(stopped.stderr).toContain(
    'calls function public.times(numeric,integer) (operator public.*(numeric,integer)), owned by role ' + hostile.name,
  );
  // Planted before plan: plan refuses the same conversion of another column.
  await query(url, `ALTER TABLE public.orders ADD COLUMN fee numeric(12, 2)`);
  const planned = await run(
    'plan',
    'rename',
    'orders.fee',
    'fee_cents',
    '--type',
    'bigint',
    '--up',
    'round(fee * 100)::bigint',
    '--down',
    'fee_cents / 100.0',
    '--id',
    'fee',
  );
  expect(planned.code, planned.stderr).toBe(2);
  expect(planned.stderr).toContain('(operator public.*(numeric,integer)), owned by role ' + hostile.name);
  expect(await hostile.ranAs()).toEqual([]);
}, 300_000);
