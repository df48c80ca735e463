import type pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { runBackfill } from '../../src/backfill/engine.js';
import { advance } from '../../src/commands/advance.js';
import { migrate } from '../../src/commands/migrate.js';
import { planMove } from '../../src/commands/plan-move.js';
import { planRename } from '../../src/commands/plan.js';
import type { RunnerEvent } from '../../src/events.js';
import { createTestDatabase } from '../support/database.js';
import { createGeneratedRename, differingRows } from '../support/fixtures-backfill.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseSession, emptyProject, type TestDatabase } from '../support/test-project.js';

/**
 * phasectl gives way to the application, never the other way round. PostgreSQL looks for a deadlock in a backend
 * once its wait has lasted deadlock_timeout, and aborts that backend. When an application transaction waits for
 * phasectl and phasectl then waits for it, the application's check runs deadlock_timeout after it began waiting;
 * phasectl waited with lock_timeout 2 s (longer than deadlock_timeout, 1 s), so the application's check found the
 * cycle first and the application's transaction was aborted (40P01). phasectl now waits at most deadlock_timeout / 3
 * there and retries: it has gone before the application's check runs.
 */
const cleanups = cleanupsAfterAll();
let db: TestDatabase;
let session: pg.Client;
beforeAll(async () => ({ db, session } = await databaseSession(cleanups)));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(watcher: pg.Client, sql: string): Promise<void> {
  for (let i = 0; i < 1000; i += 1) {
    const { rows } = await watcher.query<{ ok: boolean }>(sql);
    if (rows[0]?.ok) return;
    await sleep(5);
  }
  throw new Error(`timed out waiting for: ${sql}`);
}

/** The outcome of an application statement: 'ok' or its SQLSTATE and message. */
const outcome = (run: Promise<unknown>): Promise<string> =>
  run.then(
    () => 'ok',
    (error: Error & { code?: string }) => `${error.code}: ${error.message}`,
  );

test('a backfill batch that holds a row the application waits for gives way: the application commits, the backfill completes', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'staff', rows: 600 });
  // The batch (one batch: ids 1 … 600, in key order) pauses at id 250, after it has locked ids 1 … 249.
  await session.query(`
    CREATE FUNCTION public.slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id = 250 AND coalesce(current_setting('phasectl.backfill', true), '') = 'on' THEN PERFORM pg_sleep(0.4); END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER slow_row BEFORE UPDATE ON public.staff FOR EACH ROW EXECUTE FUNCTION public.slow_row();`);
  const app = await client(db.url);
  const watcher = await client(db.url);
  try {
    await session.query(`SET deadlock_timeout = '1s'`);
    await app.query(`SET deadlock_timeout = '1s'`);
    const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    // The application holds row 500 …
    await app.query('BEGIN');
    await app.query('UPDATE public.staff SET other = 1 WHERE id = 500');
    const events: RunnerEvent[] = [];
    const backfill = runBackfill(session, plan, {
      batchSize: 1000,
      retry: { retryForSeconds: 30 },
      log: (event) => events.push(event),
    }).catch((error: unknown) => error);
    await until(watcher, `SELECT wait_event = 'PgSleep' AS ok FROM pg_stat_activity WHERE pid = ${pid}`);
    // … and now wants row 10, which the batch holds: it waits for the batch, the batch (0.4 s later) for row 500.
    const write = await outcome(app.query('UPDATE public.staff SET other = 2 WHERE id = 10'));
    await app.query(write === 'ok' ? 'COMMIT' : 'ROLLBACK');
    const result = await backfill;

    expect(write).toBe('ok');
    expect(result).toMatchObject({ rowsUpdated: 600 });
    expect(await differingRows(session, 'staff')).toBe(0);
    expect(await query(db.url, 'SELECT id, other FROM public.staff WHERE id IN (10, 500) ORDER BY id')).toEqual([
      { id: '10', other: 2 },
      { id: '500', other: 1 },
    ]);
    // The batch waited, gave way and came back; the lines say so.
    expect(events).toContainEqual(
      expect.objectContaining({
        type: 'retry',
        reason: 'waiting for rows another transaction holds (lock timeout on a batch)',
      }),
    );
  } finally {
    await app.end();
    await watcher.end();
  }
});

/**
 * A move's expand locks the source (users), then adds the column to the target (profiles). Here it first waits for
 * users behind another transaction; the application, which wrote a profile, queues for users behind it. When users
 * frees, the file takes it and waits for profiles, held by the application: a cycle, and the application's
 * deadlock_timeout started first.
 */
test("a move's expand gives way to an application that wrote the target row and waits for the source", async () => {
  const moveDb = db;
  const dir = await emptyProject(cleanups, 'phasectl-give-way-');
  await query(
    moveDb.url,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
     CREATE TABLE public.profiles (id bigserial PRIMARY KEY, user_id bigint NOT NULL UNIQUE REFERENCES public.users (id), bio text);
     INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 100) g;
     INSERT INTO public.profiles (user_id) SELECT g FROM generate_series(1, 100) g;`,
  );
  await planMove({
    projectDir: dir,
    from: 'users.address',
    to: 'profiles.address',
    on: 'id=user_id',
    databaseUrl: moveDb.url,
  });
  await advance({ projectDir: dir, release: '1.0.0' });

  const other = await client(moveDb.url);
  const app = await client(moveDb.url);
  const watcher = await client(moveDb.url);
  try {
    await app.query(`SET deadlock_timeout = '1s'`);
    await query(moveDb.url, `ALTER DATABASE ${moveDb.name} SET deadlock_timeout = '1s'`);
    // Another transaction writes a user: the file's LOCK of users waits for it.
    await other.query('BEGIN');
    await other.query(`UPDATE public.users SET address = 'other' WHERE id = 5`);
    // The application writes a profile …
    await app.query('BEGIN');
    await app.query(`UPDATE public.profiles SET bio = 'hi' WHERE user_id = 1`);
    const migrating = migrate({ databaseUrl: moveDb.url, projectDir: dir, retryForSeconds: 30 }).catch(
      (error: unknown) => error,
    );
    await until(
      watcher,
      `SELECT count(*) > 0 AS ok FROM pg_locks WHERE NOT granted AND relation = 'public.users'::regclass AND mode = 'ShareRowExclusiveLock'`,
    );
    // … then its user: it queues behind the file.
    const writing = outcome(app.query(`UPDATE public.users SET address = 'app' WHERE id = 1`));
    // The other transaction ends after the application has waited 0.8 s: the file gets users and waits for profiles
    // (the application's deadlock check runs 0.2 s later: a file that had waited for users without the cap would still
    // be waiting for profiles then).
    await sleep(800);
    await other.query('COMMIT');
    const write = await writing;
    await app.query(write === 'ok' ? 'COMMIT' : 'ROLLBACK');
    const result = await migrating;

    expect(write).toBe('ok');
    expect(result).not.toBeInstanceOf(Error);
    expect(await query(moveDb.url, 'SELECT address FROM public.profiles WHERE user_id = 1')).toEqual([
      { address: 'app' },
    ]);
  } finally {
    await other.end();
    await app.end();
    await watcher.end();
  }
});

test("a rename's contract gives way to an application that inserted into a referencing table and waits for the table", async () => {
  const dir = await emptyProject(cleanups, 'phasectl-give-way-contract-');
  // A database of its own: the one above holds the move's project's migrations.
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  await query(
    db.url,
    `CREATE TABLE public.members (id bigint PRIMARY KEY, code text UNIQUE NOT NULL);
     CREATE TABLE public.visits (id bigint PRIMARY KEY, member_code text REFERENCES public.members (code));
     INSERT INTO public.members SELECT g, 'c' || g FROM generate_series(1, 100) g;
     INSERT INTO public.visits SELECT g, 'c' || g FROM generate_series(1, 50) g;`,
  );
  await planRename({ projectDir: dir, target: 'public.members.code', newName: 'handle', databaseUrl: db.url });
  for (const release of ['1.0.0', '1.1.0']) {
    await advance({ projectDir: dir, release });
    await migrate({ databaseUrl: db.url, projectDir: dir });
  }
  await advance({ projectDir: dir, release: '1.2.0' });

  const other = await client(db.url);
  const app = await client(db.url);
  const watcher = await client(db.url);
  try {
    await app.query(`SET deadlock_timeout = '1s'`);
    await query(db.url, `ALTER DATABASE ${db.name} SET deadlock_timeout = '1s'`);
    // A reader holds members: the contract's exclusive lock on it waits.
    await other.query('BEGIN');
    await other.query('SELECT count(*) FROM public.members');
    const migrating = migrate({ databaseUrl: db.url, projectDir: dir, retryForSeconds: 30 }).catch(
      (error: unknown) => error,
    );
    await until(
      watcher,
      `SELECT count(*) > 0 AS ok FROM pg_locks WHERE NOT granted AND relation = 'public.members'::regclass AND mode = 'AccessExclusiveLock'`,
    );
    // The application inserts a visit (it holds visits) and its foreign key check queues for members behind the file.
    await app.query('BEGIN');
    const writing = outcome(app.query(`INSERT INTO public.visits VALUES (51, 'c51')`));
    // The reader ends after the application has waited 0.8 s: a file still waiting for members gets it, then waits for
    // visits (its foreign keys), which the application holds: the application's deadlock check runs 0.2 s later.
    await sleep(800);
    await other.query('COMMIT');
    const write = await writing;
    await app.query(write === 'ok' ? 'COMMIT' : 'ROLLBACK');
    const result = await migrating;

    expect(write).toBe('ok');
    expect(result).not.toBeInstanceOf(Error);
    expect(
      await query(
        db.url,
        `SELECT v.member_code, m.handle FROM public.visits AS v JOIN public.members AS m ON m.handle = v.member_code WHERE v.id = 51`,
      ),
    ).toEqual([{ member_code: 'c51', handle: 'c51' }]);
  } finally {
    await other.end();
    await app.end();
    await watcher.end();
  }
});
