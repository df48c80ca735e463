import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { jsonEvents, phasectl, startPhasectl } from '../support/cli.js';
import { client, query } from '../support/fixtures-project.js';
import { applyNamedSteps, databaseState, waitFor, writeBehindTrigger } from '../support/guard-state.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * The runner's and the backfill engine's safety guards, each driven through the built CLI
 * (`node bin/phasectl.js`) on a generated project (public.users.job_title → favourite_color, change
 * `users-job-title`, releases 1.0.0 / 1.1.0 / 1.2.0). Each test fails when its guard is removed.
 */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

const setup = (rows: number) => databaseWithGeneratedProject(cleanups, { rows, releases: ['1.0.0', '1.1.0', '1.2.0'] });

async function stateOf(url: string): Promise<Record<string, unknown>> {
  const c = await client(url);
  try {
    return await databaseState(c, ['public.users']);
  } finally {
    await c.end();
  }
}

const differing = async (url: string) =>
  Number(
    (
      await query<{ n: string }>(
        url,
        'SELECT count(*) AS n FROM public.users WHERE favourite_color IS DISTINCT FROM job_title',
      )
    )[0]?.n,
  );
const rowsDone = async (url: string) =>
  Number(
    (
      await query<{ n: string }>(
        url,
        `SELECT coalesce((SELECT rows_done FROM phasectl.backfills WHERE change_id = $1 AND direction = 'up'), 0) AS n`,
        [CHANGE],
      )
    )[0]?.n,
  );
const backfillPid = async (url: string) =>
  (
    await query<{ pid: number }>(
      url,
      `SELECT pid FROM pg_stat_activity WHERE application_name = 'phasectl backfill' AND datname = current_database()`,
    )
  )[0]?.pid;

test('migrate stops at a verification that finds differing rows: exit 3, the count and the fix, phase 2 not applied', async () => {
  const { url, dir } = await setup(500);
  const first = await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], {
    env: { DATABASE_URL: url },
  });
  expect(first.code, first.stderr).toBe(0);
  await writeBehindTrigger(url, `UPDATE public.users SET favourite_color = 'tampered' WHERE id = 7`);
  const verifyFile = (await readdir(join(dir, 'db/migrations'))).find((name) =>
    /^002_1\.1\.0_users-job-title_p2_\d+_verify\.up\.sql$/.test(name),
  );
  expect(verifyFile).toBeDefined();
  const before = await stateOf(url);

  const result = await phasectl(['migrate', '--project', dir], { env: { DATABASE_URL: url } });
  expect(result.code).toBe(3);
  expect(result.stderr).toContain(
    `error: verification of ${CHANGE} found 1 row(s) where the two columns differ; stopped before ${verifyFile}`,
  );
  expect(result.stderr).toContain(
    `fix: run \`phasectl backfill ${CHANGE} --repair\` (it rewrites exactly the rows that differ`,
  );
  // Nothing of release 1.1.0 ran: the verify file is not recorded, the switch did not run, no row changed.
  expect(await stateOf(url)).toEqual(before);
  expect(await query(url, 'SELECT differing::int FROM phasectl.verifications WHERE change_id = $1', [CHANGE])).toEqual([
    { differing: 1 },
  ]);
});

test('a batch that meets a lock timeout is retried after the lock is released: exit 0, every row backfilled', async () => {
  const { url, dir } = await setup(1000);
  await applyNamedSteps(url, dir, CHANGE, 1, ['expand']);
  const holder = await client(url);
  cleanups.push(() => holder.end());
  await holder.query('BEGIN');
  await holder.query('SELECT id FROM public.users WHERE id = 500 FOR UPDATE');
  const run = startPhasectl(['backfill', CHANGE, '--project', dir, '--json'], { env: { DATABASE_URL: url } });
  // The first batch waits on row 500 until its lock_timeout (333 ms: deadlock_timeout / 3); release the row lock after that.
  await waitFor('the backfill to wait on the row lock', async () => {
    const pid = await backfillPid(url);
    return (
      pid !== undefined && (await query(url, `SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted`, [pid])).length > 0
    );
  });
  await waitFor(
    'a retry event',
    async () => jsonEvents(run.output().stdout).some((event) => event.type === 'retry'),
    10_000,
  );
  await holder.query('COMMIT');
  const result = await run.result;
  expect(result.code, result.stderr).toBe(0);
  expect(jsonEvents(result.stdout).find((event) => event.type === 'retry')).toMatchObject({
    file: `backfill ${CHANGE}`,
    attempt: 1,
    reason: 'waiting for rows another transaction holds (lock timeout on a batch)',
  });
  expect(await differing(url)).toBe(0);
  expect(await rowsDone(url)).toBe(1000);
});

test("a batch in a deadlock with the application gives way and is retried: exit 0, the application's writes and every row kept", async () => {
  const { url, dir } = await setup(1000);
  await applyNamedSteps(url, dir, CHANGE, 1, ['expand']);
  const app = await client(url);
  cleanups.push(() => app.end());
  await app.query('BEGIN');
  await app.query('UPDATE public.users SET n = n + 1 WHERE id = 900');
  // One batch of 1000 rows locks 1…899, then waits for row 900 held by the application.
  const run = startPhasectl(['backfill', CHANGE, '--project', dir, '--json', '--batch-size', '1000'], {
    env: { DATABASE_URL: url },
  });
  await waitFor('the backfill to wait on row 900', async () => {
    const pid = await backfillPid(url);
    return (
      pid !== undefined && (await query(url, `SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted`, [pid])).length > 0
    );
  });
  // The application now wants row 100, which the batch holds: a deadlock. The batch waits at most deadlock_timeout / 3
  // (333 ms): it gives up before any deadlock check can abort the application; the application's update goes through.
  await app.query('UPDATE public.users SET n = n + 1 WHERE id = 100');
  await app.query('COMMIT');
  const result = await run.result;
  expect(result.code, result.stderr).toBe(0);
  expect(jsonEvents(result.stdout).find((event) => event.type === 'retry')).toMatchObject({
    attempt: 1,
    reason: 'waiting for rows another transaction holds (lock timeout on a batch)',
  });
  expect(await differing(url)).toBe(0);
  expect(await rowsDone(url)).toBe(1000);
  expect(await query(url, 'SELECT id::int, n FROM public.users WHERE n <> 0 ORDER BY id')).toEqual([
    { id: 100, n: 1 },
    { id: 900, n: 1 },
  ]);
});

test('a second backfill of the same change is refused while the first runs (exit 3); the first completes alone', async () => {
  const { url, dir } = await setup(2000);
  await applyNamedSteps(url, dir, CHANGE, 1, ['expand']);
  const env = { DATABASE_URL: url };
  // A row lock held by the test keeps the first backfill running (its batch at row 1500 waits and retries) for as
  // long as the second CLI needs to start, however busy the machine; committing lets the first one finish.
  const holder = await client(url);
  cleanups.push(() => holder.end());
  await holder.query('BEGIN');
  await holder.query('SELECT id FROM public.users WHERE id = 1500 FOR UPDATE');
  const first = startPhasectl(
    ['backfill', CHANGE, '--project', dir, '--batch-size', '100', '--target-batch-ms', '1', '--quiet'],
    { env },
  );
  // A generous deadline: on a loaded machine the CLI alone can take many seconds to start.
  await waitFor('the first backfill to commit a batch', async () => (await rowsDone(url)) >= 100, 120_000);
  const second = await phasectl(['backfill', CHANGE, '--project', dir], { env });
  expect(first.child.exitCode, 'the first backfill ended before the second started').toBeNull();
  await holder.query('COMMIT');
  expect(second.code).toBe(3);
  expect(second.stderr).toContain(`error: the backfill of ${CHANGE} (up) is already running in another session`);
  expect(second.stderr).toContain('fix: wait for it to finish');
  expect((await first.result).code).toBe(0);
  // The first run walked the table alone: each row rewritten once.
  expect(await rowsDone(url)).toBe(2000);
  expect(await differing(url)).toBe(0);
}, 240_000);

test.each([
  ['SIGINT', 130],
  ['SIGTERM', 143],
] as const)(
  '%s during a file: migrate finishes that file, stops before the next (exit %i) and says how to continue',
  async (signal, exitCode) => {
    const { url, dir } = await setup(200);
    // A team's own migration that takes a moment; the generated files follow it in name order.
    await writeFile(join(dir, 'db/migrations/000_team_wait.sql'), 'SELECT pg_sleep(1.5);\n');
    const before = await stateOf(url);
    const run = startPhasectl(['migrate', '--project', dir], { env: { DATABASE_URL: url } });
    await waitFor(
      'the first file to run',
      async () =>
        (
          await query(
            url,
            `SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active' AND datname = current_database()`,
          )
        ).length > 0,
    );
    run.child.kill(signal);
    const result = await run.result;
    expect(result.code).toBe(exitCode);
    const firstGenerated = (await readdir(join(dir, 'db/migrations')))
      .filter((name) => name.endsWith('.up.sql'))
      .sort()[0];
    expect(result.stderr).toContain(`error: migrate stopped before ${firstGenerated}; 1 file(s) applied`);
    expect(result.stderr).toContain('fix: run `phasectl migrate` to continue');
    const after = await stateOf(url);
    expect(after.migrations).toEqual(['000_team_wait.sql']);
    expect({ ...after, migrations: undefined, changes: undefined }).toEqual({
      ...before,
      migrations: undefined,
      changes: undefined,
    });
    expect(after.changes).toEqual([]);
  },
);
