import { readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, type Migration } from 'kysely';
import pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, cliIn, databaseWithProject } from '../support/test-project.js';

/**
 * migrations.format kysely and db-migrate on a partitioned table: the index step's query returns one statement per
 * partition (built CONCURRENTLY, then attached) and both formats run them, so the parent's index ends valid.
 */
const cleanups = cleanupsAfterAll();
const SCHEMA = `
  CREATE TABLE public.events (id bigint NOT NULL, title text NOT NULL, PRIMARY KEY (id)) PARTITION BY RANGE (id);
  CREATE TABLE public.events_a PARTITION OF public.events FOR VALUES FROM (1) TO (1000);
  CREATE TABLE public.events_b PARTITION OF public.events FOR VALUES FROM (1000) TO (2000);
  CREATE TABLE public.events_rest PARTITION OF public.events DEFAULT;
  CREATE INDEX events_title_idx ON public.events (title);
  INSERT INTO public.events SELECT g, 'event ' || g FROM generate_series(1, 2500) AS g;`;

async function partitionedProject(format: 'kysely' | 'db-migrate') {
  const project = await databaseWithProject(cleanups, SCHEMA, `phasectl-format-${format}-`);
  const cli = cliIn(project.dir, project.env);
  await cli.ok('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
  await cli.ok('advance', '--release', '1.0.0');
  const phases = join(project.dir, 'phases.yaml');
  await writeFile(
    phases,
    (await readFile(phases, 'utf8')).replace('version: 1\n', `version: 1\nmigrations:\n  format: ${format}\n`),
  );
  await cli.ok('generate');
  return project;
}

const partitionIndexes = async (url: string) =>
  await query<{ parent_valid: boolean; attached: number }>(
    url,
    `SELECT (SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.events_name_idx'::regclass) AS parent_valid,
            (SELECT count(*)::int FROM pg_partition_tree('public.events_name_idx'::regclass) WHERE level > 0) AS attached`,
  );

let kyselyProject: Awaited<ReturnType<typeof partitionedProject>>;
let dbMigrateProject: Awaited<ReturnType<typeof partitionedProject>>;
beforeAll(async () => {
  kyselyProject = await partitionedProject('kysely');
  dbMigrateProject = await partitionedProject('db-migrate');
}, 120_000);

test('kysely: phase 1 builds and attaches every partition index, the parent index ends valid', async () => {
  const { dir, url } = kyselyProject;
  await symlink(join(process.cwd(), 'node_modules'), join(dir, 'node_modules'));
  const folder = join(dir, 'db', 'kysely');
  const names = (await readdir(folder)).filter((name) => name.endsWith('.ts')).sort();
  const indexStep = await readFile(
    join(
      folder,
      names.find((name) => name.includes('_indexes'))!,
    ),
    'utf8',
  );
  expect(indexStep).toContain('for (const row of (await sql.raw<{ phasectl_statement: string }>(');
  const migrations: Record<string, Migration> = {};
  for (const name of names) migrations[name.replace(/\.ts$/, '')] = (await import(join(folder, name))) as Migration;
  const db = new Kysely<any>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }),
  });
  try {
    const migrator = new Migrator({
      db,
      provider: { getMigrations: async () => migrations },
      disableTransactions: true,
    });
    const { error } = await migrator.migrateToLatest();
    expect(error).toBeUndefined();
  } finally {
    await db.destroy();
  }
  expect(await partitionIndexes(url)).toEqual([{ parent_valid: true, attached: 3 }]);
  expect(await query(url, `SELECT count(*)::int AS n FROM public.events WHERE name IS DISTINCT FROM title`)).toEqual([
    { n: 0 },
  ]);
}, 120_000);

test("db-migrate's runner: the same, each SQL file run through the generated run-sql-file.js", async () => {
  const { dir, url } = dbMigrateProject;
  const folder = join(dir, 'db', 'db-migrate');
  const require = createRequire(import.meta.url);
  const { runSqlFile } = require(join(folder, 'phasectl', 'run-sql-file.js')) as {
    runSqlFile: (db: unknown, file: string) => Promise<void>;
  };
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // db-migrate-pg's runSql, as the runner calls it (text, callback), on a plain connection.
  const db = {
    runSql: (text: string, done: (error: Error | null, result?: pg.QueryResult) => void) =>
      client.query(text).then((result) => done(null, result), done),
  };
  try {
    const files = (await readdir(join(folder, 'sqls'))).filter((name) => name.endsWith('-up.sql')).sort();
    for (const file of files) await runSqlFile(db, join(folder, 'sqls', file));
  } finally {
    await client.end();
  }
  expect(await partitionIndexes(url)).toEqual([{ parent_valid: true, attached: 3 }]);
}, 120_000);
