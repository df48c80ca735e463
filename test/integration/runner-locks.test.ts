import { expect, test } from 'vitest';
import { RuntimeFailure } from '../../src/errors.js';
import type { RunnerEvent } from '../../src/events.js';
import { migrate } from '../../src/commands/migrate.js';
import { createTestDatabase } from '../support/database.js';
import { client, header, makeProject, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll } from '../support/test-project.js';

const cleanups = cleanupsAfterAll();

const alterFile = `${header({ change: 'c', phase: 1, step: '01-expand', release: '1.0.0' })}SET LOCAL lock_timeout = '2s';\nALTER TABLE public.hot ADD COLUMN w int;\n`;

async function setup() {
  const db = await createTestDatabase();
  const project = await makeProject({ '001_1.0.0_c_p1_01_expand.up.sql': alterFile });
  cleanups.push(db.drop, project.remove);
  await query(
    db.url,
    'CREATE TABLE public.hot (id int PRIMARY KEY, v int NOT NULL DEFAULT 0); INSERT INTO public.hot SELECT g FROM generate_series(1, 100) g;',
  );
  return { url: db.url, dir: project.dir };
}

test('a long transaction holding ACCESS SHARE: migrate gives way and retries, app queries never wait long, migrate succeeds after', async () => {
  const { url, dir } = await setup();
  const long = await client(url);
  const app = await client(url);
  await long.query('BEGIN');
  await long.query('SELECT count(*) FROM public.hot');
  const longPid = (await long.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

  let stop = false;
  let worstMs = 0;
  let appQueries = 0;
  const appLoop = (async () => {
    while (!stop) {
      const id = 1 + (appQueries % 100);
      const started = performance.now();
      await app.query('SELECT v FROM public.hot WHERE id = $1', [id]);
      await app.query('UPDATE public.hot SET v = v + 1 WHERE id = $1', [id]);
      worstMs = Math.max(worstMs, performance.now() - started);
      appQueries += 1;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();

  const events: RunnerEvent[] = [];
  let releaseLong!: () => void;
  const threeRetries = new Promise<void>((resolve) => (releaseLong = resolve));
  const migrating = migrate({
    databaseUrl: url,
    projectDir: dir,
    lockTimeoutMs: 200,
    retryForSeconds: 60,
    log: (event) => {
      events.push(event);
      if (events.filter((e) => e.type === 'retry').length >= 3) releaseLong();
    },
  });
  await threeRetries;
  const appQueriesWhileBlocked = appQueries;
  await long.query('COMMIT');
  const result = await migrating;
  stop = true;
  await appLoop;
  await long.end();
  await app.end();

  expect(result.applied).toHaveLength(1);
  expect(
    await query(
      url,
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'hot' AND column_name = 'w'`,
    ),
  ).toEqual([{ n: 1 }]);
  const retries = events.filter((e): e is Extract<RunnerEvent, { type: 'retry' }> => e.type === 'retry');
  // The blocker watch samples pg_blocking_pids while migrate waits: best effort, so look at every retry.
  expect(retries.length).toBeGreaterThanOrEqual(3);
  expect(retries.map((retry) => retry.blockers)).toContainEqual(expect.stringContaining(`pid ${longPid}`));
  expect(appQueriesWhileBlocked).toBeGreaterThan(10);
  // Without lock_timeout the app would queue behind the waiting ALTER for as long as the long transaction lasted.
  expect(worstMs).toBeLessThan(200 + 600);
});

test('when the lock never comes: exit 3 naming the blocking pid and its query, file not applied', async () => {
  const { url, dir } = await setup();
  const long = await client(url);
  try {
    await long.query('BEGIN');
    await long.query('SELECT count(*) AS blocking_query FROM public.hot');
    const pid = (await long.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    const error = await migrate({ databaseUrl: url, projectDir: dir, lockTimeoutMs: 100, retryForSeconds: 1 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as RuntimeFailure).exitCode).toBe(3);
    expect((error as Error).message).toMatch(/001_1\.0\.0_c_p1_01_expand\.up\.sql could not get its locks/);
    expect((error as Error).message).toContain(`pid ${pid}`);
    expect((error as Error).message).toContain('idle in transaction');
    expect((error as RuntimeFailure).hint).toMatch(/pg_terminate_backend.*--retry-for/);
    expect(await query(url, 'SELECT count(*)::int AS n FROM phasectl.migrations')).toEqual([{ n: 0 }]);
  } finally {
    await long.end();
  }
});
