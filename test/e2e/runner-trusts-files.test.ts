import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { phasectlProcess } from '../support/cli-process.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithProject } from '../support/test-project.js';

/**
 * Issue 17 item 7: the runner runs what the shipped files say. phases.yaml edited by hand after `advance`
 * (from/to swapped) must not turn the pending backfill around: migrate, backfill and verify refuse (exit 2)
 * before touching the database, and the data stays as it was.
 */
const cleanups = cleanupsAfterAll();
let url: string;
let dir: string;
beforeAll(async () => {
  ({ url, dir } = await databaseWithProject(
    cleanups,
    `CREATE TABLE public.accounts (id bigint PRIMARY KEY, login text);
                    INSERT INTO public.accounts SELECT g, 'user' || g FROM generate_series(1, 20000) g;`,
    'phasectl-trust-',
  ));
});

const cli = (args: string[]) => phasectlProcess(dir, args, { DATABASE_URL: url });
const counts = async () =>
  (
    await query<{ logins: string; usernames: string }>(
      url,
      'SELECT count(login) AS logins, count(username) AS usernames FROM public.accounts',
    )
  )[0];

test('from/to swapped in phases.yaml after the expand: migrate, backfill and verify exit 2 naming the files; no value lost', async () => {
  expect((await cli(['plan', 'rename', 'public.accounts.login', 'username', '--id', 'accounts-login'])).code).toBe(0);
  expect((await cli(['advance', '--release', '1.0.0'])).code).toBe(0);
  // The expand applies, then the backfill fails (a user trigger refuses every UPDATE): phase 1 stops half-way.
  await query(
    url,
    `CREATE FUNCTION public.refuse_updates() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no updates today'; END $$;
                    CREATE TRIGGER a_refuse BEFORE UPDATE ON public.accounts FOR EACH ROW EXECUTE FUNCTION public.refuse_updates();`,
  );
  const halfway = await cli(['migrate']);
  expect(halfway.code).toBe(3);
  expect(await query(url, `SELECT name FROM phasectl.migrations ORDER BY name`)).toEqual([
    { name: '001_1.0.0_accounts-login_p1_01_expand.up.sql' },
  ]);
  await query(url, 'DROP TRIGGER a_refuse ON public.accounts; DROP FUNCTION public.refuse_updates()');

  const phasesFile = join(dir, 'phases.yaml');
  const original = await readFile(phasesFile, 'utf8');
  expect(original).toContain('from: login');
  expect(original).toContain('to: username');
  await writeFile(phasesFile, original.replace('from: login', 'from: username').replace('to: username', 'to: login'));

  const migrate = await cli(['migrate']);
  expect(migrate.code).toBe(2);
  expect(migrate.stderr).toContain('phases.yaml and the migration files in db/migrations disagree');
  expect(migrate.stderr).toContain('001_1.0.0_accounts-login_p1_02_backfill.up.sql');
  const backfill = await cli(['backfill', 'accounts-login']);
  expect(backfill.code).toBe(2);
  expect(backfill.stderr).toContain('001_1.0.0_accounts-login_p1_02_backfill.up.sql');
  const verify = await cli(['verify', 'accounts-login']);
  expect(verify.code).toBe(2);
  expect(await counts()).toEqual({ logins: '20000', usernames: '0' });
  expect(await query(url, `SELECT count(*)::int AS n FROM phasectl.migrations`)).toEqual([{ n: 1 }]);

  // phases.yaml restored: the same files run and fill the new column.
  await writeFile(phasesFile, original);
  const resumed = await cli(['migrate']);
  expect(resumed.stderr).toBe('');
  expect(resumed.code).toBe(0);
  expect(await counts()).toEqual({ logins: '20000', usernames: '20000' });
  expect(
    await query(url, `SELECT count(*)::int AS n FROM public.accounts WHERE username IS DISTINCT FROM login`),
  ).toEqual([{ n: 0 }]);
}, 120_000);

test('migrate reads phases.yaml with the release rules: a hand-written ledger entry is refused before anything runs', async () => {
  const phasesFile = join(dir, 'phases.yaml');
  const original = await readFile(phasesFile, 'utf8');
  expect(original).toMatch(/releases: \{ phase1: 1\.0\.0 \}/);
  await writeFile(
    phasesFile,
    original.replace(/releases: \{ phase1: 1\.0\.0 \}/, 'releases: { phase1: 1.0.0, phase3: 1.0.0 }'),
  );
  const result = await cli(['migrate']);
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/phases\.yaml:\d+:\d+: release rule \d broken/);
  await writeFile(phasesFile, original);
  expect((await cli(['migrate'])).stdout).toContain('database is up to date');
}, 60_000);
