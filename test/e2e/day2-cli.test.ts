import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { jsonEvents, phasectl, phasectlBin, requireBuiltCli, startPhasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { waitFor } from '../support/guard-state.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/** Day-two operations through the built CLI (issue 18): Ctrl-C, progress after a resume, status before the first migrate. */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

const setup = (rows: number) => databaseWithGeneratedProject(cleanups, { rows, releases: ['1.0.0'] });

const sleeping = (url: string) =>
  query(
    url,
    `SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid() AND datname = current_database()`,
  );

test('status before the first migrate says the change is not applied yet; later it shows a shipped file edited by hand', async () => {
  const { dir, env } = await setup(10);
  const before = await phasectl(['status', '--project', dir], { env });
  expect(before.code, before.stderr).toBe(0);
  expect(before.stdout).not.toContain('does not exist');
  expect(before.stdout).toContain('not applied yet: no phasectl schema in this database');
  expect((await phasectl(['migrate', '--project', dir, '--quiet'], { env })).code).toBe(0);
  const name = (await readdir(join(dir, 'db/migrations'))).filter((file) => file.endsWith('.up.sql')).sort()[0]!;
  await writeFile(
    join(dir, 'db/migrations', name),
    `${await readFile(join(dir, 'db/migrations', name), 'utf8')}-- edited\n`,
  );
  const after = await phasectl(['status', '--project', dir], { env });
  expect(after.stdout).not.toContain('not applied yet');
  expect(after.stdout).toContain(`edited after it was applied: ${name}`);
});

test("the first Ctrl-C says at once what it waits for; the second aborts and the file's transaction rolls back (exit 130)", async () => {
  const { url, dir, env } = await setup(10);
  await writeFile(
    join(dir, 'db/migrations/000_team_wait.sql'),
    'CREATE TABLE public.marker (id int);\nSELECT pg_sleep(10);\n',
  );
  const run = startPhasectl(['migrate', '--project', dir], { env });
  await waitFor('the team file to run', async () => (await sleeping(url)).length > 0);
  run.child.kill('SIGINT');
  // "At once": while the file (10 s) still runs; the margin is for a busy CI machine, not for the CLI.
  await waitFor(
    'the stop message',
    async () => run.output().stderr.includes('SIGINT: stopping after 000_team_wait.sql; Ctrl-C again to abort'),
    6000,
  );
  expect(run.child.exitCode).toBeNull();
  expect(await sleeping(url)).not.toHaveLength(0);
  run.child.kill('SIGINT');
  const result = await run.result;
  expect(result.code).toBe(130);
  expect(result.stderr).toContain('aborting now');
  expect(await sleeping(url)).not.toHaveLength(0); // it exited without waiting for the file
  await waitFor('the backend to end', async () => (await sleeping(url)).length === 0);
  expect(
    await query(url, `SELECT to_regclass('public.marker') AS t, (SELECT count(*)::int FROM phasectl.migrations) AS n`),
  ).toEqual([{ t: null, n: 0 }]);
});

test('a resumed backfill counts from the stored progress in its events (the bar and the plain lines print them)', async () => {
  const { url, dir, env } = await setup(1200);
  const rowsDone = async () =>
    Number(
      (
        await query<{ n: string }>(url, `SELECT rows_done AS n FROM phasectl.backfills WHERE change_id = $1`, [
          CHANGE,
        ]).catch(() => [])
      )[0]?.n ?? 0,
    );
  const run = startPhasectl(
    ['migrate', '--project', dir, '--batch-size', '100', '--target-batch-ms', '1', '--pause-ms', '40'],
    { env },
  );
  await waitFor('300 backfilled rows', async () => (await rowsDone()) >= 300);
  run.child.kill('SIGINT');
  expect((await run.result).code).toBe(130);
  const saved = await rowsDone();
  const resumed = await phasectl(
    ['backfill', CHANGE, '--project', dir, '--json', '--batch-size', '100', '--target-batch-ms', '1'],
    { env },
  );
  expect(resumed.code, resumed.stderr).toBe(0);
  const first = jsonEvents(resumed.stdout).find((event) => event.type === 'backfill-progress');
  expect(first).toMatchObject({ rowsScanned: saved + 100, rowsDone: saved + 100 });
});

test('on a terminal, Ctrl-C ends the progress bar before the stop message and the error (exit 130)', async () => {
  const { dir, env } = await setup(1200);
  // `script` gives the CLI a terminal; ^C typed on it is SIGINT for the CLI.
  requireBuiltCli();
  const command = [
    process.execPath,
    phasectlBin,
    'migrate',
    '--project',
    dir,
    '--batch-size',
    '100',
    '--target-batch-ms',
    '1',
    '--pause-ms',
    '60',
  ];
  const child = spawn('script', ['-qfec', command.map((word) => `'${word}'`).join(' '), '/dev/null'], {
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waitFor('the progress bar', async () => output.includes('rows/s'));
  child.stdin.write('\u0003');
  expect(await closed).toBe(130);
  const lines = output.split('\n');
  expect(
    lines.find((line) => line.includes('SIGINT: stopping after the current batch of the backfill of users-job-title')),
  ).not.toContain('rows/s');
  expect(lines.find((line) => line.includes('error: backfill of'))).not.toContain('rows/s');
});
