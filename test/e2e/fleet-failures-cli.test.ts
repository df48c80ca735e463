import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { withDatabase } from '../../src/db/url.js';
import { RUN_LOCK_KEY } from '../../src/session/advisory-lock.js';
import { jsonEvents, phasectl, startPhasectl } from '../support/cli.js';
import { serverUrl } from '../support/database.js';
import { generatedProject } from '../support/fixtures-generated.js';
import { query } from '../support/fixtures-project.js';
import { waitFor } from '../support/guard-state.js';
import { restartable } from '../support/restartable-server.js';

/**
 * How a fleet run ends when a target fails part-way (issue 14): a server stopped while its backfill runs, and
 * `--fail-fast`. The test run's own server holds the small targets; one embedded server holds `victim`, whose
 * postmaster is stopped in the middle of its backfill and restarted for the re-run.
 */
const prefix = `ff${randomBytes(3).toString('hex')}`;
const CHANGE = 'users-job-title';
// Slow batches (100 rows, 100 ms apart): a 10 000-row backfill takes 10 s or more, the 300-row ones well under 1 s.
const SLOW = ['--batch-size', '100', '--target-batch-ms', '1', '--pause-ms', '100'];
const BIG_ROWS = 10_000;
const usersTable = (rows: number) =>
  `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown', n int NOT NULL DEFAULT 0);
   INSERT INTO public.users (id, job_title) SELECT g, 'title ' || g FROM generate_series(1, ${rows}) g; ANALYZE public.users;`;
const local = (name: string) => `${prefix}_${name}`;
const LOCAL_DATABASES = ['one', 'two', 'slow', 'quick', 'locked', 'last'].map(local);

let dir: string;
let removeProject: () => Promise<void>;
let other: EmbeddedServer;
let otherControl: ReturnType<typeof restartable>;
let env: Record<string, string>;
const victimUrl = () => withDatabase(other.url, 'victim');
const localUrl = (name: string) => withDatabase(serverUrl(), local(name));

beforeAll(async () => {
  other = await startEmbeddedPostgres({ major: 16 });
  otherControl = restartable(other, 16);
  await query(serverUrl(), `CREATE DATABASE ${local('base')}`);
  const project = await generatedProject(withDatabase(serverUrl(), local('base')), { rows: 300, releases: ['1.0.0'] });
  dir = project.dir;
  removeProject = project.remove;
  for (const name of LOCAL_DATABASES) await query(serverUrl(), `CREATE DATABASE ${name} TEMPLATE ${local('base')}`);
  await query(
    localUrl('slow'),
    `INSERT INTO public.users (id, job_title) SELECT g, 'title ' || g FROM generate_series(301, ${BIG_ROWS}) g; ANALYZE public.users;`,
  );
  await query(other.url, 'CREATE DATABASE victim');
  await query(victimUrl(), usersTable(BIG_ROWS));
  // Environment variables only: the URLs carry the test server's password.
  env = { FLEET_VICTIM_URL: victimUrl() };
  const named = (name: string) => `  - name: ${name}\n    url: \${FLEET_${name.toUpperCase()}_URL}\n`;
  for (const name of ['one', 'two', 'slow', 'quick', 'locked', 'last'])
    env[`FLEET_${name.toUpperCase()}_URL`] = localUrl(name);
  await writeFile(
    join(dir, 'stop.yaml'),
    `concurrency: 3\ntargets:\n  - name: victim\n    url: \${FLEET_VICTIM_URL}\n${named('one')}${named('two')}`,
  );
  await writeFile(
    join(dir, 'fail-fast.yaml'),
    `concurrency: 2\ntargets:\n${named('slow')}${named('quick')}${named('locked')}${named('last')}`,
  );
}, 240_000);

afterAll(async () => {
  await otherControl?.dispose();
  await other?.stop();
  for (const name of [...LOCAL_DATABASES, local('base')])
    await query(serverUrl(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  await removeProject?.();
}, 120_000);

interface Backfill {
  rowsDone: number;
  finished: boolean;
}
const backfill = async (url: string): Promise<Backfill | undefined> => {
  const rows = await query<{ rows_done: string; finished: boolean }>(
    url,
    `SELECT rows_done, finished_at IS NOT NULL AS finished FROM phasectl.backfills WHERE change_id = $1 AND direction = 'up'`,
    [CHANGE],
  ).catch(() => []);
  return rows[0] && { rowsDone: Number(rows[0].rows_done), finished: rows[0].finished };
};
const appliedFiles = async (url: string) =>
  (await query<{ n: number }>(url, 'SELECT count(*)::int AS n FROM phasectl.migrations').catch(() => [{ n: 0 }]))[0]!.n;
const differing = async (url: string) =>
  (
    await query<{ n: number }>(
      url,
      'SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS DISTINCT FROM job_title',
    )
  )[0]!.n;
interface Summary {
  type: string;
  line: string;
  exitCode: number;
  safeToDeploy: boolean;
  targets: { target: string; outcome: string; reason?: string; releaseReached: string | null }[];
}
const summaryOf = (stdout: string) => jsonEvents(stdout).at(-1) as unknown as Summary;
const outcomes = (summary: Summary) => Object.fromEntries(summary.targets.map((t) => [t.target, t.outcome]));

describe.sequential('a fleet target that fails part-way', () => {
  test('a server stopped while its backfill runs: the others finish whole, exit 3 and the summary name it; the re-run after its restart resumes its backfill', async () => {
    const fleet = join(dir, 'stop.yaml');
    const run = startPhasectl(['migrate', '--fleet', fleet, '--project', dir, ...SLOW], { env });
    await waitFor(
      '300 backfilled rows on victim',
      async () => ((await backfill(victimUrl()))?.rowsDone ?? 0) >= 300,
      60_000,
    );
    await otherControl.stop();
    const result = await run.result;
    expect(result.code, result.stdout + result.stderr).toBe(3);
    expect(result.stdout).toMatch(/^victim\s+127\.0\.0\.1:\d+\/victim\s+-\s+\?\s+failed/m);
    // A lost server is no reason to undo phase 1: the fix is to rerun once it is back (the backfill resumes).
    expect(result.stdout).toMatch(/^ {2}victim: the connection to PostgreSQL was lost .*resume/m);
    expect(result.stdout).not.toContain('phasectl rollback');
    expect(result.stdout).toMatch(/^one\s.*\smigrated \(\d+ files?\)/m);
    expect(result.stdout).toMatch(/^two\s.*\smigrated \(\d+ files?\)/m);
    expect(result.stdout).toMatch(
      /release 1\.0\.0 applied on 2 of 3 targets: NOT safe to deploy 1\.0\.0; held back by victim \(failed\)\s*$/,
    );
    expect(result.stdout).not.toContain(':phasectl@');
    // The others: every file recorded, the backfill finished, no row differing.
    const files = await appliedFiles(localUrl('one'));
    expect(files).toBeGreaterThan(0);
    for (const name of ['one', 'two']) {
      expect(await appliedFiles(localUrl(name))).toBe(files);
      expect(await backfill(localUrl(name))).toMatchObject({ finished: true });
      expect(await differing(localUrl(name))).toBe(0);
    }

    await otherControl.start();
    const stoppedAt = (await backfill(victimUrl()))!;
    expect(stoppedAt.finished).toBe(false);
    expect(stoppedAt.rowsDone).toBeGreaterThanOrEqual(300);
    expect(stoppedAt.rowsDone).toBeLessThan(BIG_ROWS);
    expect(await appliedFiles(victimUrl())).toBeLessThan(files);

    const rerun = await phasectl(['migrate', '--fleet', fleet, '--project', dir, '--json'], { env });
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    const events = jsonEvents(rerun.stdout);
    const resumed = events.find((e) => e.type === 'backfill-start' && e.target === 'victim');
    expect(resumed?.resumedFrom).toEqual([expect.any(String)]);
    expect(outcomes(summaryOf(rerun.stdout))).toEqual({ victim: 'migrated', one: 'up-to-date', two: 'up-to-date' });
    expect(summaryOf(rerun.stdout).line).toBe('release 1.0.0 applied on 3 of 3 targets: safe to deploy 1.0.0');
    expect(await appliedFiles(victimUrl())).toBe(files);
    expect(await backfill(victimUrl())).toMatchObject({ finished: true });
    expect(await differing(victimUrl())).toBe(0);
  }, 120_000);

  test('--fail-fast: after one target fails no further target starts, the running one stops after its current batch; the summary and exit 3 say so', async () => {
    // Another phasectl run (as far as `locked` can tell) holds its run lock: migrate there fails at once.
    const holder = new pg.Client({ connectionString: localUrl('locked') });
    await holder.connect();
    try {
      await holder.query('SELECT pg_catalog.pg_advisory_lock($1::bigint)', [RUN_LOCK_KEY]);
      // Two at a time: `slow` (a long backfill) and `quick`; when `quick` is done `locked` starts and fails.
      const result = await phasectl(
        ['migrate', '--fleet', join(dir, 'fail-fast.yaml'), '--project', dir, '--fail-fast', '--json', ...SLOW],
        { env },
      );
      expect(result.code, result.stdout + result.stderr).toBe(3);
      const events = jsonEvents(result.stdout);
      const summary = summaryOf(result.stdout);
      expect(summary).toMatchObject({ type: 'fleet-summary', exitCode: 3, safeToDeploy: false });
      expect(outcomes(summary)).toEqual({
        slow: 'stopped',
        quick: 'migrated',
        locked: 'failed',
        last: 'not-started',
      });
      expect(summary.line).toBe(
        'release 1.0.0 applied on 1 of 4 targets: NOT safe to deploy 1.0.0; held back by slow (stopped), locked (failed), last (not-started)',
      );
      const reason = (name: string) => summary.targets.find((t) => t.target === name)?.reason ?? '';
      expect(reason('locked')).toMatch(/another phasectl/i);
      expect(reason('slow')).toMatch(
        /^stopped by --fail-fast after locked failed: backfill of users-job-title stopped at key/,
      );
      // Its fix resumes the fleet, not the single-database `phasectl backfill` its own error names.
      expect(reason('slow')).toContain('(fix: run the same `phasectl migrate --fleet` again');
      expect(reason('slow')).not.toContain('phasectl backfill');
      expect(reason('last')).toBe('not started: --fail-fast after locked failed');
      expect(events.some((e) => e.type === 'target-start' && e.target === 'last')).toBe(false);
      // slow stopped part-way with its progress saved; last was never touched.
      const slow = (await backfill(localUrl('slow')))!;
      expect(slow.finished).toBe(false);
      expect(slow.rowsDone).toBeLessThan(BIG_ROWS);
      expect(await appliedFiles(localUrl('last'))).toBe(0);
      expect(await differing(localUrl('quick'))).toBe(0);
    } finally {
      await holder.end();
    }
    // Without the lock, a re-run (no --fail-fast needed) completes every target.
    const rerun = await phasectl(['migrate', '--fleet', join(dir, 'fail-fast.yaml'), '--project', dir, '--json'], {
      env,
    });
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(summaryOf(rerun.stdout).line).toBe('release 1.0.0 applied on 4 of 4 targets: safe to deploy 1.0.0');
    for (const name of ['slow', 'locked', 'last']) expect(await differing(localUrl(name))).toBe(0);
  }, 120_000);
});
