import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { plannedTitleRename } from '../support/planned-project.js';
import { cleanupsAfterAll, cliIn, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * The environment is input: PGOPTIONS, the URL's options and the role's or database's own settings reach every
 * session phasectl opens. The backfill and verify walks carry keys as text, so a setting that prints a key
 * lossily would make them stop short of rows, and verify (walking the same way) would not see it.
 */
const cleanups = cleanupsAfterAll();

/** A table keyed by float8 values that 15 significant digits do not print exactly (1.3333333333333333 …). */
const floatKeyed = `CREATE TABLE public.readings (id float8 PRIMARY KEY, job_title text);
  INSERT INTO public.readings SELECT g + 1 / 3::float8, 'v' || g FROM generate_series(1, 3000) g;`;

async function differing(url: string): Promise<number> {
  const rows = await query<{ n: number }>(
    url,
    `SELECT count(*)::int AS n FROM public.readings WHERE title IS DISTINCT FROM job_title`,
  );
  return rows[0]!.n;
}

test('a float key is walked to its last row with extra_float_digits = 0 in PGOPTIONS', async () => {
  const project = await databaseWithFolder(cleanups, floatKeyed, 'phasectl-settings-');
  const cli = cliIn(project.dir, { ...project.env, PGOPTIONS: '-c extra_float_digits=0' });
  await cli.ok('init');
  await cli.ok('plan', 'rename', 'readings.job_title', 'title', '--id', 'jt');
  await cli.ok('advance', '--release', '1.0.0');
  const migrated = await cli.run('migrate');
  // Before the fix: exit 0, "verify jt: 0 differing row(s)", and the row with the highest key never copied.
  expect(await differing(project.url), migrated.stdout + migrated.stderr).toBe(0);
  expect(migrated.code, migrated.stderr).toBe(0);
  // The session's own setting is given back after the walk: a file run later sees what the role set.
  expect(migrated.stderr).toBe('');
});

test('a float key is walked to its last row by parallel ranges with the database set to extra_float_digits = -15', async () => {
  const project = await databaseWithFolder(cleanups, floatKeyed, 'phasectl-settings-');
  const database = decodeURIComponent(new URL(project.url).pathname.slice(1));
  await query(project.url, `ALTER DATABASE "${database}" SET extra_float_digits = -15`);
  await project.ok('init');
  await project.ok('plan', 'rename', 'readings.job_title', 'title', '--id', 'jt');
  await project.ok('advance', '--release', '1.0.0');
  const migrated = await project.run('migrate', '--jobs', '2');
  expect(await differing(project.url), migrated.stdout + migrated.stderr).toBe(0);
  expect(migrated.code, migrated.stderr).toBe(0);
  const verified = await project.run('verify', 'jt');
  expect(verified.code, verified.stdout + verified.stderr).toBe(0);
});

test('a timestamptz key is walked to every row when DateStyle prints zone abbreviations that read back as other zones', async () => {
  // Under DateStyle SQL or Postgres, a timestamptz prints with the zone's abbreviation: Asia/Kolkata prints IST,
  // which PostgreSQL reads back as Israel time (+02), 3 h 30 later than the row's key.
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.readings (id timestamptz PRIMARY KEY, job_title text);
     INSERT INTO public.readings SELECT timestamptz '2024-03-01 00:00:00+00' + g * interval '1 minute', 'v' || g
     FROM generate_series(1, 3000) g;`,
    'phasectl-settings-',
  );
  const cli = cliIn(project.dir, { ...project.env, PGOPTIONS: '-c DateStyle=SQL,DMY -c TimeZone=Asia/Kolkata' });
  await cli.ok('init');
  await cli.ok('plan', 'rename', 'readings.job_title', 'title', '--id', 'jt');
  await cli.ok('advance', '--release', '1.0.0');
  const migrated = await cli.run('migrate', '--batch-size', '100', '--target-batch-ms', '60000');
  expect(await differing(project.url), migrated.stdout + migrated.stderr).toBe(0);
  expect(migrated.code, migrated.stdout + migrated.stderr).toBe(0);
});

test('session_replication_role = replica in PGOPTIONS: migrate, rollback and backfill refuse before writing (exit 2)', async () => {
  // A superuser (as here) may set it: the table's own triggers and foreign keys, and those of phasectl's state
  // tables (a rollback's delete cascades to the backfill's ranges), would not fire for phasectl's writes.
  const project = await plannedTitleRename(cleanups, 'phasectl-settings-', 500);
  const replica = cliIn(project.dir, { ...project.env, PGOPTIONS: '-c session_replication_role=replica' });
  for (const args of [['migrate'], ['backfill', 'jt']]) {
    const refused = await replica.run(...args);
    expect(refused.code, `${args.join(' ')}\n${refused.stdout}\n${refused.stderr}`).toBe(2);
    expect(refused.stderr).toContain('session_replication_role = replica');
    expect(refused.stderr).toContain('PGOPTIONS');
  }
  // Nothing was written: no state schema, no new column.
  const state = await query<{ n: number }>(
    project.url,
    `SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'phasectl'`,
  );
  expect(state[0]!.n).toBe(0);
  expect(await hasColumn(project.url, 'public.users', 'title')).toBe(false);
  // Read-only commands still run (status reads, writes nothing).
  const status = await replica.run('status');
  expect(status.code, status.stderr).not.toBe(2);
  // Applied without it, phase 1 is not rolled back with it.
  await project.ok('migrate');
  const rollback = await replica.run('rollback', '--release', '1.0.0', '--yes');
  expect(rollback.code, rollback.stdout + rollback.stderr).toBe(2);
  expect(rollback.stderr).toContain('session_replication_role = replica');
  expect(await hasColumn(project.url, 'public.users', 'title')).toBe(true);
});
