import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { dbMigrateTimestamp } from '../../src/formats/db-migrate.js';
import { catalogSnapshot } from '../support/apply-sql.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * migrations.format: db-migrate — the generated db/db-migrate files applied by db-migrate's own API
 * (db-migrate-pg), in its default mode (a transaction per migration) and with --non-transactional.
 */
const require = createRequire(import.meta.url);
const DBMigrate = require('db-migrate') as { getInstance(isModule: boolean, options: object): DbMigrateApi };
interface DbMigrateApi {
  silence(on: boolean): void;
  up(specification?: string | number): Promise<unknown>;
  down(count?: number): Promise<unknown>;
  reset(): Promise<unknown>;
}

const ROWS = 3000;
const cleanups = cleanupsAfterAll();
let databaseUrl: string;
let dir: string;
let client: pg.Client;

beforeAll(async () => {
  ({ url: databaseUrl, dir } = await databaseWithGeneratedProject(cleanups, {
    rows: ROWS,
    releases: ['1.4.0', '1.5.0', '1.6.0'],
    format: 'db-migrate',
    index: true,
  }));
  client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  cleanups.push(() => client.end());
});

function dbMigrate(nonTransactional: boolean): DbMigrateApi {
  const url = new URL(databaseUrl);
  const instance = DBMigrate.getInstance(true, {
    cwd: dir,
    env: 'phasectl',
    config: {
      phasectl: {
        driver: 'pg',
        host: url.hostname,
        port: Number(url.port),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: url.pathname.slice(1),
      },
    },
    cmdOptions: { 'migrations-dir': join(dir, 'db', 'db-migrate'), 'non-transactional': nonTransactional },
  });
  instance.silence(process.env.DEBUG_DBM !== '1');
  return instance;
}

const rows = async (sql: string) => (await client.query(sql)).rows;

test('the layout: <timestamp>-<name>.js and sqls/<timestamp>-<name>-up|down.sql, timestamps from release and position', async () => {
  expect(dbMigrateTimestamp(1, 1)).toBe('20010101000001');
  expect(dbMigrateTimestamp(12, 61)).toBe('20120101000101');
  const names = (await readdir(join(dir, 'db', 'db-migrate'))).sort();
  expect(names).toEqual([
    '20010101000001-users-job-title-p1-01-expand.js',
    '20010101000002-users-job-title-p1-02-backfill.js',
    '20010101000003-users-job-title-p1-03-indexes.js',
    '20010101000004-users-job-title-p1-04-constraints.js',
    '20010101000005-users-job-title-p1-05-validate.js',
    '20020101000001-users-job-title-p2-01-verify.js',
    '20020101000002-users-job-title-p2-02-switch.js',
    '20030101000001-users-job-title-p3-01-verify.js',
    '20030101000002-users-job-title-p3-02-contract.js',
    'package.json',
    'phasectl',
    'sqls',
  ]);
  const down = await readFile(
    join(dir, 'db', 'db-migrate', 'sqls', '20010101000001-users-job-title-p1-01-expand-down.sql'),
    'utf8',
  );
  // The first migration of phase 1 rolls back the whole phase: all three down steps, in order.
  expect([...down.matchAll(/^-- phasectl change=\S+ phase=1 direction=down step=(\S+)/gm)].map((m) => m[1])).toEqual([
    '01-drop-constraints',
    '02-drop-indexes',
    '03-shrink',
  ]);
});

for (const nonTransactional of [false, true]) {
  test(`db-migrate${nonTransactional ? ' --non-transactional' : ''} applies the three phases and resets to the original schema and data`, async () => {
    const before = await catalogSnapshot(client, 'public.users');
    // A fresh instance per command: db-migrate keeps the last destination in its instance state.
    const migrator = {
      up: (to?: string) => dbMigrate(nonTransactional).up(to),
      down: (n: number) => dbMigrate(nonTransactional).down(n),
      reset: () => dbMigrate(nonTransactional).reset(),
    };
    await migrator.up('20010101000005');
    expect(
      await rows(`SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS DISTINCT FROM job_title`),
    ).toEqual([{ n: 0 }]);
    expect(
      await rows(`SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_favourite_color_idx'::regclass`),
    ).toEqual([{ indisvalid: true }]);
    await client.query(`UPDATE public.users SET job_title = 'old app write' WHERE id = 7`);

    await migrator.up();
    expect(await rows(`SELECT phase FROM phasectl.changes`)).toEqual([{ phase: 3 }]);
    expect(
      await rows(
        `SELECT column_name, is_nullable, column_default FROM information_schema.columns WHERE table_name = 'users' AND column_name IN ('job_title', 'favourite_color')`,
      ),
    ).toEqual([{ column_name: 'favourite_color', is_nullable: 'NO', column_default: "'unknown'::text" }]);
    expect(await rows(`SELECT favourite_color FROM public.users WHERE id IN (7, 8) ORDER BY id`)).toEqual([
      { favourite_color: 'old app write' },
      { favourite_color: 'title 8' },
    ]);
    expect(await rows(`SELECT count(*)::int AS n FROM public.migrations`)).toEqual([{ n: 9 }]);
    // No transaction left open by the non-transactional steps: db-migrate's bookkeeping committed.
    expect(
      await rows(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
      ),
    ).toEqual([{ n: 0 }]);

    await client.query(`UPDATE public.users SET favourite_color = 'new app write' WHERE id = 9`);
    await migrator.down(2); // phase 3: its verify and contract migrations (the phase's down steps sit on the first)
    expect(
      await rows(`SELECT count(*)::int AS n FROM public.users WHERE job_title IS DISTINCT FROM favourite_color`),
    ).toEqual([{ n: 0 }]);
    expect(await rows(`SELECT job_title FROM public.users WHERE id = 9`)).toEqual([{ job_title: 'new app write' }]);
    await migrator.reset();
    expect(await catalogSnapshot(client, 'public.users')).toEqual(before);
    expect(await rows(`SELECT count(*)::int AS n FROM public.migrations`)).toEqual([{ n: 0 }]);
    expect(await rows(`SELECT job_title FROM public.users WHERE id IN (7, 9, 10) ORDER BY id`)).toEqual([
      { job_title: 'old app write' },
      { job_title: 'new app write' },
      { job_title: 'title 10' },
    ]);
    // Leave the data as the next mode expects it.
    await client.query(`UPDATE public.users SET job_title = 'title ' || id WHERE id IN (7, 9)`);
  });
}
