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

/**
 * A file that locks two tables (a move's expand: the target's ADD COLUMN, then the source's trigger) against an
 * application transaction that writes them in the other order: PostgreSQL's deadlock detector (deadlock_timeout, 1 s,
 * before lock_timeout ends the wait) rolls the file back. That is the moment to let pass, as for a lock timeout; it
 * was reported as a failure to fix ("fix the cause above (data or schema)"), and under such traffic every attempt of
 * a move's phase 1 failed.
 */
test('a deadlock with an application transaction: the file is retried and applied, the application commits', async () => {
  const db = await createTestDatabase();
  const file = `${header({ change: 'c', phase: 1, step: '01-expand', release: '1.0.0' })}SET LOCAL lock_timeout = '5s';
ALTER TABLE public.b ADD COLUMN w int;
ALTER TABLE public.a ADD COLUMN w int;
`;
  const project = await makeProject({ '001_1.0.0_c_p1_01_expand.up.sql': file });
  cleanups.push(db.drop, project.remove);
  await query(
    db.url,
    `CREATE TABLE public.a (id int PRIMARY KEY, v int); CREATE TABLE public.b (id int PRIMARY KEY, v int);
     INSERT INTO public.a VALUES (1, 0); INSERT INTO public.b VALUES (1, 0);`,
  );
  // The file's session checks for a deadlock after 3 s, the application's after 30 s: PostgreSQL checks once per
  // wait, so the file's check must come after the application has queued (on a loaded machine that took over the
  // default 1 s, the file's check found no cycle yet, and the application's check then aborted the application).
  await query(db.url, `ALTER DATABASE ${db.name} SET deadlock_timeout = '3s'`);
  const app = await client(db.url);
  const watcher = await client(db.url);
  try {
    await app.query(`SET deadlock_timeout = '30s'`);
    // The application holds a, the file takes b and waits for a; then the application wants b.
    await app.query('BEGIN');
    await app.query('UPDATE public.a SET v = v + 1 WHERE id = 1');
    const events: RunnerEvent[] = [];
    const migrating = migrate({
      databaseUrl: db.url,
      projectDir: project.dir,
      retryForSeconds: 30,
      log: (event) => events.push(event),
    }).catch((error: unknown) => error);
    for (;;) {
      const { rows } = await watcher.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'public.a'::regclass`,
      );
      if (rows[0]!.n > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const appWrite = app.query('UPDATE public.b SET v = v + 1 WHERE id = 1').then(
      () => 'ok',
      (error: Error) => error.message,
    );
    const appOutcome = await appWrite;
    if (appOutcome === 'ok') await app.query('COMMIT');
    else await app.query('ROLLBACK');
    const result = await migrating;

    // PostgreSQL aborts the side that waited first: here the file (it was waiting on a before the application
    // asked for b).
    expect(appOutcome).toBe('ok');
    expect(result).not.toBeInstanceOf(Error);
    expect(events).toContainEqual(expect.objectContaining({ type: 'retry', reason: 'deadlock detected' }));
    expect(
      await query(
        db.url,
        `SELECT table_name FROM information_schema.columns WHERE column_name = 'w' AND table_schema = 'public' ORDER BY 1`,
      ),
    ).toEqual([{ table_name: 'a' }, { table_name: 'b' }]);
    expect(await query(db.url, 'SELECT v FROM public.b')).toEqual([{ v: 1 }]);
  } finally {
    await app.end();
    await watcher.end();
  }
});
