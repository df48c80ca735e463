import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { RUN_LOCK_KEY } from '../../src/session/advisory-lock.js';
import { phasectl as runPhasectl } from '../support/cli.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';
import { behindSyncTriggers } from '../support/behind-sync-triggers.js';

let url: string;
let dir: string;
const cleanups = cleanupsAfterAll();
beforeAll(async () => {
  ({ url, dir } = await databaseWithGeneratedProject(cleanups, { rows: 3000, releases: ['1.0.0', '1.1.0'] }));
});

/** The built CLI (`node bin/phasectl.js`) as a real process, DATABASE_URL set to the test database. */
function phasectl(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runPhasectl(args, { env: { DATABASE_URL: url, ...env } });
}

test('bad password: exit 3, one line naming host:port/db, no password, no stack', async () => {
  const bad = new URL(url);
  bad.password = 'hunter2-secret';
  const result = await phasectl(['migrate', '--project', dir, '--database-url', bad.toString()]);
  expect(result.code).toBe(3);
  expect(result.stderr).toMatch(
    new RegExp(`^error: cannot connect to PostgreSQL at ${bad.hostname}:${bad.port}${bad.pathname}: .*password`, 'm'),
  );
  expect(result.stderr).not.toContain('hunter2-secret');
  expect(result.stderr).not.toMatch(/\bat .*\.js:\d+/);
});

test('--dry-run prints the SQL and changes nothing; migrate --to-release, --json events, then up to date', async () => {
  const dry = await phasectl(['migrate', '--project', dir, '--dry-run']);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain('-- 001_1.0.0_users-job-title_p1_01_');
  expect(dry.stdout).toMatch(/ADD COLUMN IF NOT EXISTS "favourite_color"/);
  expect(await query(url, `SELECT to_regnamespace('phasectl') AS s`)).toEqual([{ s: null }]);

  const first = await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--json']);
  expect(first.code).toBe(0);
  const events = first.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; file?: string });
  expect(events.filter((e) => e.type === 'backfill-done')).toHaveLength(1);
  const release1 = (await readdir(join(dir, 'db/migrations')))
    .filter((name) => name.startsWith('001_1.0.0_') && name.endsWith('.up.sql'))
    .sort();
  expect(events.filter((e) => e.type === 'file-done').map((e) => e.file)).toEqual(release1);

  const status = await phasectl(['status', '--project', dir, '--json']);
  expect(status.code).toBe(0);
  const report = JSON.parse(status.stdout) as {
    changes: {
      id: string;
      phaseInDatabase: number;
      triggerPresent: boolean;
      backfills: { finished: boolean; rowsDone: number }[];
      next: string;
      drift: string[];
    }[];
  };
  expect(report.changes[0]).toMatchObject({
    id: 'users-job-title',
    phaseInDatabase: 1,
    triggerPresent: true,
    next: 'phasectl migrate',
  });
  expect(report.changes[0]?.backfills[0]).toMatchObject({ finished: true, rowsDone: 3000 });

  const rest = await phasectl(['migrate', '--project', dir]);
  expect(rest.code).toBe(0);
  expect(rest.stdout).toMatch(/applying 002_1\.1\.0_users-job-title_p2_/);
  const again = await phasectl(['migrate', '--project', dir]);
  expect(again.stdout).toContain('database is up to date');
});

test('verify prints the count and exits 1 when rows differ; status shows drift when the trigger is gone', async () => {
  const clean = await phasectl(['verify', 'users-job-title', '--project', dir]);
  expect(clean.code).toBe(0);
  expect(clean.stdout).toContain('users-job-title: 0 differing row(s)');
  await query(url, behindSyncTriggers(`UPDATE public.users SET favourite_color = 'x' WHERE id = 5`));
  const dirty = await phasectl(['verify', 'users-job-title', '--project', dir]);
  expect(dirty.code).toBe(1);
  expect(dirty.stdout).toContain('1 differing row(s)');
  await query(url, `UPDATE public.users SET job_title = favourite_color WHERE id = 5`);
  await query(url, `DROP TRIGGER zz_phasectl_sync_users_job_title ON public.users`);
  const status = await phasectl(['status', '--project', dir]);
  expect(status.stdout).toMatch(/drift: sync trigger missing on public\.users while phase 2 is applied/);
});

test('a second migrate while another holds the lock: exit 3 naming its backend pid, application and client', async () => {
  const holder = await client(url);
  try {
    await holder.query(`SET application_name = 'release-job'`);
    await holder.query('SELECT pg_advisory_lock($1::bigint)', [RUN_LOCK_KEY]);
    const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const result = await phasectl(['migrate', '--project', dir]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      new RegExp(
        `another phasectl migrate is running \\(backend pid ${pid}, application "release-job", client (127\\.0\\.0\\.1|::1|local socket)\\)`,
      ),
    );
    expect(result.stderr).toContain('--wait-lock');
  } finally {
    await holder.end();
  }
});

test('missing phases.yaml: exit 2 with the phasectl init hint', async () => {
  const result = await phasectl(['migrate', '--project', '/nonexistent-phasectl-dir']);
  expect(result.code).toBe(2);
  expect(result.stderr).toContain('phasectl init');
});
