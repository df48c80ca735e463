import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';
import { header, query } from '../support/fixtures-project.js';

/**
 * The runner runs each row of a query whose only column is `phasectl_statement` as the next statement: that is how
 * the partitioned index step builds one index per partition found at run time. Only that generated query may do
 * it. A team's own migration, or any query reading a view, function or table another role controls, can return a
 * column of that name: its rows are a result, never SQL run as the migrator.
 */
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

test("only the generated step's query has its rows run: a team's query returning phasectl_statement runs nothing", async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-statement-rows-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const url = db.url;
  await query(
    url,
    `CREATE TABLE public.keep (id int PRIMARY KEY);
     CREATE TABLE public.events (id bigint NOT NULL, created_at date NOT NULL, title text, PRIMARY KEY (id, created_at))
       PARTITION BY RANGE (created_at);
     CREATE TABLE public.events_2024 PARTITION OF public.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
     CREATE TABLE public.events_rest PARTITION OF public.events DEFAULT;
     CREATE INDEX events_title_idx ON public.events (title);
     INSERT INTO public.events SELECT g, DATE '2024-03-01' + g % 500, 'event ' || g FROM generate_series(1, 200) g;
     -- A view someone else maintains: whatever it returns is data, not SQL.
     CREATE VIEW public.pending_jobs AS SELECT 'DROP TABLE public.keep'::text AS phasectl_statement;`,
  );
  const run = (...args: string[]) => phasectl(args, { cwd: dir, env: { DATABASE_URL: url } });
  const ok = async (...args: string[]) => {
    const result = await run(...args);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  };
  await ok('init');
  await ok('plan', 'rename', 'public.events.title', 'name', '--id', 'events-title');
  await ok('advance', '--release', '1.0.0');
  const migrations = join(dir, 'db', 'migrations');
  // A team's own file, without a header: it runs in a transaction.
  await writeFile(join(migrations, '001a_team_report.sql'), `SELECT 'DROP TABLE public.keep' AS phasectl_statement;\n`);
  // A team's own non-transactional file, with a header copied from phasectl's format (its own change id).
  await writeFile(
    join(migrations, '001b_team_jobs.sql'),
    `${header({ change: 'team-jobs', phase: 1, step: '01-jobs', release: '1.0.0', transaction: false })}` +
      `SELECT phasectl_statement FROM public.pending_jobs;\n`,
  );
  await ok('migrate', '--quiet');

  expect(await query(url, `SELECT to_regclass('public.keep') IS NOT NULL AS kept`)).toEqual([{ kept: true }]);
  // The generated partitioned index step still ran its statements: one index per partition, attached, all valid.
  expect(
    await query(
      url,
      `SELECT i.indrelid::regclass::text AS rel, i.indisvalid AS valid
       FROM pg_partition_tree('public.events_name_idx') t JOIN pg_index i ON i.indexrelid = t.relid ORDER BY 1`,
    ),
  ).toEqual([
    { rel: 'events', valid: true },
    { rel: 'events_2024', valid: true },
    { rel: 'events_rest', valid: true },
  ]);
}, 300_000);
