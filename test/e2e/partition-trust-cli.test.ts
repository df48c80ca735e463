import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { quoteIdent, quoteLiteral } from '../../src/render/quote.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn, roleIn } from '../support/test-project.js';

/**
 * A partition may have another owner than its parent, and that owner may put triggers on it. The backfill writes
 * each leaf partition directly as the role running phasectl (here a superuser, as many teams run migrations), so a
 * trigger another role planted there would run with the migrator's rights. phasectl refuses such a partition at
 * `plan` (exit 2, phases.yaml unchanged) and, for a partition created or handed over later, before the backfill
 * touches the table (exit 3): the planted code never runs.
 */
const cleanups = cleanupsAfterAll();

/** The partitioned table `public.events` and its partitions `events_<suffix>`, one per year from 2024. */
function events(...suffixes: string[]): string {
  const partitions = suffixes.map(
    (suffix, index) =>
      `CREATE TABLE public.events_${suffix} PARTITION OF public.events FOR VALUES FROM ('${2024 + index}-01-01') TO ('${2025 + index}-01-01');`,
  );
  return `CREATE TABLE public.events (id bigint NOT NULL, created_at date NOT NULL, title text, PRIMARY KEY (id, created_at))
       PARTITION BY RANGE (created_at);
     ${partitions.join('\n     ')}`;
}

/** A project on a fresh database holding `sql`, after `init`. */
async function initialised(sql: string, prefix: string) {
  const folder = await databaseWithFolder(cleanups, sql, prefix);
  await folder.ok('init');
  return folder;
}

/** `plan` of the rename of events.title, expected refused (exit 2) with phases.yaml unchanged. */
async function planRefused(folder: Awaited<ReturnType<typeof initialised>>) {
  const refused = await folder.run('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
  expect(refused.code, refused.stderr).toBe(2);
  expect(await readFile(join(folder.dir, 'phases.yaml'), 'utf8')).not.toContain('events-title');
  return refused;
}

test('a partition owned by another role, with a trigger of its own: refused at plan and before the backfill', async () => {
  const folder = await initialised(
    `${events('a', 'b', 'c')}
     INSERT INTO public.events SELECT g, DATE '2024-01-01' + g % 1000, 'event ' || g FROM generate_series(1, 300) g;`,
    'phasectl-partition-owner-',
  );
  const { url, run, ok } = folder;
  const tenant = await roleIn(cleanups, url);
  const role = quoteIdent(tenant.name);
  /** `partition` handed to the tenant, who plants a trigger that makes itself superuser when it runs as one. */
  const plant = async (partition: string) => {
    await query(url, `ALTER TABLE ${partition} OWNER TO ${role}`);
    await query(
      tenant.url,
      `CREATE SCHEMA IF NOT EXISTS tenant_code;
       CREATE OR REPLACE FUNCTION tenant_code.grab() RETURNS trigger LANGUAGE plpgsql AS $f$
       BEGIN
         EXECUTE pg_catalog.format('ALTER ROLE %I SUPERUSER', ${quoteLiteral(tenant.name)});
         RETURN NEW;
       END $f$;
       CREATE TRIGGER grab BEFORE UPDATE ON ${partition} FOR EACH ROW EXECUTE FUNCTION tenant_code.grab();`,
    );
  };
  const tenantIsSuperuser = async () =>
    (await query<{ rolsuper: boolean }>(url, `SELECT rolsuper FROM pg_roles WHERE rolname = $1`, [tenant.name]))[0]!
      .rolsuper;

  await plant('public.events_b');
  const refused = await planRefused(folder);
  expect(refused.stderr).toContain(`partition public.events_b is owned by role ${tenant.name}`);
  expect(refused.stderr).toContain(`trigger grab on partition public.events_b runs function tenant_code.grab()`);

  // Given back to the parent's owner, the partition still carries the tenant's trigger function: refused too.
  await query(url, `ALTER TABLE public.events_b OWNER TO CURRENT_USER`);
  const function_ = await planRefused(folder);
  expect(function_.stderr).toContain(`owned by role ${tenant.name}`);
  expect(function_.stderr).not.toContain('is owned by role');
  await query(url, `DROP TRIGGER grab ON public.events_b`);
  await ok('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
  await ok('advance', '--release', '1.0.0');

  // After plan, another partition is handed over and a trigger planted: phase 1 stops before it adds the column
  // (its expand file checks again, as the backfill does).
  await plant('public.events_c');
  const stopped = await run('migrate');
  expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(3);
  expect(stopped.stderr).toContain(`partition public.events_c is owned by role ${tenant.name}`);
  expect(await tenantIsSuperuser()).toBe(false);
  expect(await hasColumn(url, 'public.events', 'name')).toBe(false);

  // Once the partition is the parent owner's again and the trigger gone, the same run finishes.
  await query(url, `DROP TRIGGER grab ON public.events_c; ALTER TABLE public.events_c OWNER TO CURRENT_USER`);
  await ok('migrate', '--quiet');
  expect(await tenantIsSuperuser()).toBe(false);
  expect(await query(url, `SELECT count(*)::int AS n FROM public.events WHERE name IS DISTINCT FROM title`)).toEqual([
    { n: 0 },
  ]);
}, 300_000);

/**
 * A partition's own trigger (not the parent's) whose function names the renamed column works until phase 3 and
 * would fail on every write to that partition once the column is gone. Like a trigger of the parent, `plan` notes it
 * and phase 3 refuses to drop the column while it still names it.
 */
test("a partition's own trigger naming the column: noted at plan, and phase 3 refuses until it is rewritten", async () => {
  const { url, run, ok } = await initialised(
    `${events('a', 'b')}
     CREATE FUNCTION public.events_b_default() RETURNS trigger LANGUAGE plpgsql AS $f$
     BEGIN
       NEW.title := coalesce(NEW.title, 'from b');
       RETURN NEW;
     END $f$;
     CREATE TRIGGER b_default BEFORE INSERT ON public.events_b FOR EACH ROW EXECUTE FUNCTION public.events_b_default();
     INSERT INTO public.events SELECT g, DATE '2024-01-01' + g, 'event ' || g FROM generate_series(1, 500) g;`,
    'phasectl-partition-trigger-',
  );
  const planned = await ok('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
  expect(`${planned.stdout}${planned.stderr}`).toContain('trigger b_default runs public.events_b_default()');
  for (const release of ['1.0.0', '2.0.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  await ok('advance', '--release', '3.0.0');
  const refused = await run('migrate');
  expect(refused.code, `${refused.stdout}\n${refused.stderr}`).toBe(3);
  expect(refused.stderr).toContain('trigger b_default runs public.events_b_default()');
  // Nothing of phase 3's contract ran: the old column is there, and writes to the partition work.
  await query(url, `INSERT INTO public.events (id, created_at) VALUES (9001, '2025-06-01')`);
  expect(await query(url, `SELECT title, name FROM public.events WHERE id = 9001`)).toEqual([
    { title: 'from b', name: 'from b' },
  ]);
  // Rewritten to the new column, phase 3 goes through and the partition's writes still work.
  await query(
    url,
    `CREATE OR REPLACE FUNCTION public.events_b_default() RETURNS trigger LANGUAGE plpgsql AS $f$
     BEGIN
       NEW.name := coalesce(NEW.name, 'from b');
       RETURN NEW;
     END $f$;`,
  );
  await ok('migrate', '--quiet');
  await query(url, `INSERT INTO public.events (id, created_at) VALUES (9002, '2025-06-02')`);
  expect(await query(url, `SELECT name FROM public.events WHERE id = 9002`)).toEqual([{ name: 'from b' }]);
}, 300_000);

/**
 * A partition's own trigger with `UPDATE OF <column>` (or a WHEN on it) depends on the column: phase 3's DROP COLUMN
 * would fail on it, after two releases have shipped. Refused at `plan` (exit 2), like a partition's own index or
 * CHECK; the same trigger on the parent is carried (re-created on the new column in phase 3).
 */
test("a partition's own trigger on the column (UPDATE OF) is refused at plan", async () => {
  const folder = await initialised(
    `${events('a')}
     CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$;
     CREATE TRIGGER a_touch BEFORE UPDATE OF title ON public.events_a FOR EACH ROW EXECUTE FUNCTION public.touch();`,
    'phasectl-partition-update-of-',
  );
  const refused = await planRefused(folder);
  expect(refused.stderr).toContain('trigger a_touch on public.events_a of a partition only');
}, 120_000);

/** An index of one partition calling a function another role owns runs it on every row the backfill writes: refused. */
test("a partition's index calling a function another role owns is refused at plan", async () => {
  const folder = await initialised('', 'phasectl-partition-index-function-');
  const tenant = await roleIn(cleanups, folder.url);
  await query(
    tenant.url,
    `CREATE SCHEMA tenant_code;
     GRANT USAGE ON SCHEMA tenant_code TO PUBLIC;
     CREATE FUNCTION tenant_code.bucket(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $f$ SELECT $1 / 10 $f$;`,
  );
  await query(folder.url, `${events('a')} CREATE INDEX events_a_bucket ON public.events_a (tenant_code.bucket(id));`);
  const refused = await planRefused(folder);
  expect(refused.stderr).toContain(
    `index public.events_a_bucket of partition public.events_a calls function tenant_code.bucket(bigint), owned by role ${tenant.name}`,
  );
}, 120_000);
