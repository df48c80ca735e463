import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { phasectlProcess } from '../support/cli-process.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithProject } from '../support/test-project.js';

/**
 * Issue 17 item 12: a phase-1 step fails after the sync trigger exists (here the backfill, on a value that
 * arrived after plan checked the rows). migrate says that writes may be failing and prints the one command
 * that undoes phase 1; that command works on the half-applied release; and the steps it gives for changing
 * the up expression work.
 */
const cleanups = cleanupsAfterAll();
let url: string;
let dir: string;
beforeAll(async () => {
  ({ url, dir } = await databaseWithProject(
    cleanups,
    `CREATE TABLE public.invoices (id bigint PRIMARY KEY, status text);
                    INSERT INTO public.invoices SELECT g, (g % 5)::text FROM generate_series(1, 5000) g;`,
    'phasectl-phase1-',
  ));
});

const cli = (args: string[]) => phasectlProcess(dir, args, { DATABASE_URL: url });
const appInsert = (id: number) =>
  query(url, `INSERT INTO public.invoices (id, status) VALUES (${id}, 'void')`).then(
    () => 'ok',
    (error: Error) => error.message,
  );

test('a failed backfill names the rollback command and the failing writes; the rollback undoes the half-applied phase 1; the edit path works', async () => {
  const plan = await cli([
    'plan',
    'rename',
    'invoices.status',
    'status_code',
    '--id',
    'invoices-status',
    '--type',
    'integer',
    '--up',
    'status::integer',
    '--down',
    'status_code::text',
  ]);
  expect(plan.code).toBe(0);
  expect((await cli(['advance', '--release', '1.0.0'])).code).toBe(0);
  await query(url, `UPDATE public.invoices SET status = 'paid' WHERE id = 4000`); // the application, after plan

  const failed = await cli(['migrate']);
  expect(failed.code).toBe(3);
  expect(failed.stderr).toContain('cannot convert the row id=4000');
  expect(failed.stderr).toContain('phase 1 of invoices-status is half applied and its sync trigger is installed');
  expect(failed.stderr).toContain("the application's INSERTs and UPDATEs of the table are failing too");
  expect(failed.stderr).toContain('`phasectl rollback --release 1.0.0`');
  expect(failed.stderr).not.toMatch(/change the up expression in phases\.yaml and regenerate/);
  expect(await appInsert(9001)).toMatch(/invalid input syntax for type integer: "void"/);

  const rollback = await cli(['rollback', '--release', '1.0.0', '--yes']);
  expect(rollback.stderr).toBe('');
  expect(rollback.code).toBe(0);
  expect(await appInsert(9001)).toBe('ok');
  expect(
    await query(
      url,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'invoices' ORDER BY column_name`,
    ),
  ).toEqual([{ column_name: 'id' }, { column_name: 'status' }]);
  expect(
    await query(url, `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'public.invoices'::regclass`),
  ).toEqual([{ n: 0 }]);
  expect(
    await query(
      url,
      `SELECT (SELECT count(*) FROM phasectl.migrations)::int AS m, (SELECT count(*) FROM phasectl.backfills)::int AS b`,
    ),
  ).toEqual([{ m: 0, b: 0 }]);

  // The hint's other path: change up/down in phases.yaml, generate, migrate.
  const phasesFile = join(dir, 'phases.yaml');
  const text = await readFile(phasesFile, 'utf8');
  expect(text).toContain('up: status::integer');
  await writeFile(
    phasesFile,
    text.replace('up: status::integer', () => `up: "nullif(regexp_replace(status, '[^0-9]', '', 'g'), '')::integer"`),
  );
  const generated = await cli(['generate']);
  // Phase 1 is rolled back here, but generate cannot know that of every database: it names the rewritten files.
  expect(generated.stderr).toContain('warning: rewrote');
  expect(generated.stderr).toContain('ran the old text');
  expect(generated.code).toBe(0);
  const again = await cli(['migrate']);
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  expect(
    await query(url, `SELECT id, status, status_code FROM public.invoices WHERE id IN (3, 4000, 9001) ORDER BY id`),
  ).toEqual([
    { id: '3', status: '3', status_code: 3 },
    { id: '4000', status: 'paid', status_code: null },
    { id: '9001', status: 'void', status_code: null },
  ]);
  expect(await appInsert(9002)).toBe('ok');
}, 180_000);
