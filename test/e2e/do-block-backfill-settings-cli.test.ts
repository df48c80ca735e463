import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { splitStatements } from '../../src/sql/split-statements.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * The generated backfill file, applied by another runner whose session prints keys lossily: the DO block keeps its
 * upper bound and progress as text (phasectl.backfills), so it must print them exactly whatever the session says.
 */
const cleanups = cleanupsAfterAll();

/**
 * Applies the phase-1 files up to the backfill as a plain runner does, in a session set up by `settings`; returns
 * the session's extra_float_digits and DateStyle afterwards.
 */
async function applyPhaseOne(url: string, dir: string, settings: string): Promise<{ digits: string; style: string }> {
  const folder = join(dir, 'db', 'migrations');
  const files = (await readdir(folder)).filter((name) => name.endsWith('.up.sql')).sort();
  const session = await client(url);
  try {
    await session.query(settings);
    for (const name of files.filter((file) => /_p1_0[12]_/.test(file))) {
      const sql = await readFile(join(folder, name), 'utf8');
      if (sql.split('\n', 1)[0]!.includes('transaction=true')) await session.query(`BEGIN;\n${sql}\nCOMMIT;`);
      else for (const statement of splitStatements(sql)) await session.query(statement);
    }
    const { rows } = await session.query<{ digits: string; style: string }>(
      `SELECT current_setting('extra_float_digits') AS digits, current_setting('DateStyle') AS style`,
    );
    return rows[0]!;
  } finally {
    await session.end();
  }
}

async function differing(url: string): Promise<number> {
  const rows = await query<{ n: number }>(
    url,
    `SELECT count(*)::int AS n FROM public.readings WHERE title IS DISTINCT FROM job_title`,
  );
  return rows[0]!.n;
}

test('the DO-block backfill reaches the highest float8 key with extra_float_digits = 0 in its session', async () => {
  // 15 significant digits print 3000.33333333333, below the real highest key: that row was never copied.
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.readings (id float8 PRIMARY KEY, job_title text);
     INSERT INTO public.readings SELECT g + 1 / 3::float8, 'v' || g FROM generate_series(1, 3000) g;`,
    'phasectl-do-backfill-',
  );
  await project.ok('init');
  await project.ok('plan', 'rename', 'readings.job_title', 'title', '--id', 'jt');
  await project.ok('advance', '--release', '1.0.0');
  const after = await applyPhaseOne(project.url, project.dir, `SET extra_float_digits = 0`);
  expect(await differing(project.url)).toBe(0);
  // The block changed them for its own transactions only: the session keeps its settings.
  expect(after.digits).toBe('0');
}, 300_000);

test('the DO-block backfill reaches the highest timestamptz key when DateStyle prints zone abbreviations', async () => {
  // Europe/Dublin in summer prints IST (+01), which PostgreSQL reads back as Israel time (+02): an hour early.
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.readings (id timestamptz PRIMARY KEY, job_title text);
     INSERT INTO public.readings SELECT timestamptz '2024-07-01 00:00:00+00' + g * interval '1 minute', 'v' || g
     FROM generate_series(1, 3000) g;`,
    'phasectl-do-backfill-',
  );
  await project.ok('init');
  await project.ok('plan', 'rename', 'readings.job_title', 'title', '--id', 'jt');
  await project.ok('advance', '--release', '1.0.0');
  const after = await applyPhaseOne(
    project.url,
    project.dir,
    `SET DateStyle = 'SQL, DMY'; SET TimeZone = 'Europe/Dublin'`,
  );
  expect(await differing(project.url)).toBe(0);
  expect(after.style).toBe('SQL, DMY');
}, 300_000);
