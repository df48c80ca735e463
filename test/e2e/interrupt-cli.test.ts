import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { expect, test } from 'vitest';
import { phasectl, startPhasectl } from '../support/cli.js';
import { client, query } from '../support/fixtures-project.js';
import { waitFor } from '../support/guard-state.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/** Issue 18 item 3 for rollback and demo: the first Ctrl-C says at once what it waits for, and the command exits 130. */
const cleanups = cleanupsAfterAll();

const waitingForLock = (url: string) =>
  query(
    url,
    `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name LIKE 'phasectl%' AND datname = current_database()`,
  );

test('rollback: the first Ctrl-C names the down file it finishes, then stops before the next one (exit 130); running it again finishes', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0'] });
  expect((await phasectl(['migrate', '--project', dir, '--quiet'], { env })).code).toBe(0);
  // A session holding a lock on users keeps the first down file waiting (retried on lock timeouts).
  const holder = await client(url);
  cleanups.push(() => holder.end());
  await holder.query('BEGIN; LOCK TABLE public.users IN ACCESS SHARE MODE');
  const run = startPhasectl(['rollback', '--release', '1.0.0', '--yes', '--project', dir, '--retry-for', '300'], {
    env,
  });
  await waitFor(
    'the first down file to wait for the lock',
    async () => (await waitingForLock(url)).length > 0,
    120_000,
  );
  run.child.kill('SIGINT');
  await waitFor(
    'the stop message',
    async () =>
      /SIGINT: stopping after 001_1\.0\.0_users-job-title_p1_01_\S+\.down\.sql; Ctrl-C again to abort/.test(
        run.output().stderr,
      ),
    30_000,
  );
  expect(run.child.exitCode).toBeNull(); // still waiting: the message came at once
  await holder.query('COMMIT');
  const result = await run.result;
  expect(result.code, result.stderr).toBe(130);
  expect(result.stderr).toMatch(
    /rollback stopped before 001_1\.0\.0_users-job-title_p1_02_\S+\.down\.sql; 1 down file\(s\) run/,
  );
  expect(result.stderr).toContain('phasectl rollback --release 1.0.0');
  // The column is still there: the phase was not rolled back completely; running it again finishes.
  expect(
    await query(
      url,
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'favourite_color'`,
    ),
  ).toEqual([{ n: 1 }]);
  const again = await phasectl(['rollback', '--release', '1.0.0', '--yes', '--project', dir], { env });
  expect(again.code, again.stderr).toBe(0);
  expect(
    await query(url, `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY 1`),
  ).toEqual([{ column_name: 'id' }, { column_name: 'job_title' }, { column_name: 'n' }]);
  expect(await query(url, `SELECT count(*)::int AS n FROM phasectl.migrations`)).toEqual([{ n: 0 }]);
}, 300_000);

const demoDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('phasectl-demo-'));

test('demo: the first Ctrl-C names the backfill it stops, the demo ends with exit 130 and removes what it created', async () => {
  const before = new Set(demoDirs());
  const run = startPhasectl(['demo', '--rows', '200000'], { env: { NO_COLOR: '1' } });
  await waitFor('the phase-1 backfill', async () => /\n {2}backfill \S+ \(up\): ~/.test(run.output().stdout), 300_000);
  run.child.kill('SIGINT');
  await waitFor('the stop message', async () => run.output().stderr.includes('SIGINT: stopping after'), 10_000);
  expect(run.output().stderr).toMatch(
    /SIGINT: stopping after (\S+_p1_02_backfill\.up\.sql|the current batch of the backfill of \S+); Ctrl-C again to abort/,
  );
  const result = await run.result;
  expect(result.code, result.stderr).toBe(130);
  expect(result.stderr).toMatch(/interrupted|stopped/);
  expect(demoDirs().filter((name) => !before.has(name))).toEqual([]);
}, 400_000);
