import { spawn } from 'node:child_process';
import pg from 'pg';
import { killedBackendsGone } from '../support/killed-backends.js';
import { beforeAll, expect, test } from 'vitest';
import { runBackfill } from '../../src/backfill/engine.js';
import { runVerify } from '../../src/backfill/verify.js';
import { PhasectlError, RuntimeFailure } from '../../src/errors.js';
import type { RunnerEvent } from '../../src/events.js';
import { backfillWrites, createGeneratedRename, differingRows, renamePlan } from '../support/fixtures-backfill.js';
import { client as connect } from '../support/fixtures-project.js';
import { writeBehindTrigger } from '../support/guard-state.js';
import { cleanupsAfterAll, databaseSession, type TestDatabase } from '../support/test-project.js';
import { behindSyncTriggers } from '../support/behind-sync-triggers.js';

const cleanups = cleanupsAfterAll();
let db: TestDatabase;
let session: pg.Client;
beforeAll(async () => ({ db, session } = await databaseSession(cleanups)));

async function resetCounter(): Promise<void> {
  await session.query('TRUNCATE public.backfill_writes');
}

test('20k rows: rewrites only the rows that differ, records progress, then verify finds 0 and a rerun is a no-op', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'users', rows: 20_000, alreadySynced: 5_000 });
  await resetCounter();
  const events: RunnerEvent[] = [];
  const result = await runBackfill(session, plan, { batchSize: 1000, log: (e) => events.push(e) });
  expect(result.rowsUpdated).toBe(15_000);
  expect(await backfillWrites(session)).toBe(15_000);
  expect(await differingRows(session, 'users')).toBe(0);
  const state = (
    await session.query(
      `SELECT upper_key, last_key, rows_done::int, finished_at IS NOT NULL AS finished FROM phasectl.backfills WHERE change_id = $1`,
      [plan.changeId],
    )
  ).rows[0];
  expect(state).toEqual({ upper_key: ['20000'], last_key: ['20000'], rows_done: 15_000, finished: true });
  expect(events.filter((e) => e.type === 'backfill-progress').length).toBeGreaterThan(1);
  expect(await runVerify(session, plan)).toMatchObject({ differing: 0 });
  const again = await runBackfill(session, plan);
  expect(again).toMatchObject({ alreadyFinished: true, rowsUpdated: 0 });
});

test('a composite key is walked by row comparison, every row once', async () => {
  const { plan } = await createGeneratedRename(session, db.url, {
    table: 'tenant_users',
    rows: 3_000,
    composite: true,
  });
  await resetCounter();
  const result = await runBackfill(session, plan, { batchSize: 100, targetBatchMs: 1 });
  expect(result.rowsUpdated).toBe(3_000);
  expect(await backfillWrites(session)).toBe(3_000);
  expect(result.batches).toBeGreaterThanOrEqual(30);
  expect(await differingRows(session, 'tenant_users')).toBe(0);
  const state = (await session.query(`SELECT upper_key FROM phasectl.backfills WHERE change_id = $1`, [plan.changeId]))
    .rows[0];
  expect(state?.upper_key).toEqual(['6', '2995']); // highest (g % 7, g) for g ≤ 3000
});

test('concurrent inserts and updates during the backfill (generated sync trigger): it terminates, 0 rows differ, every write kept', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'busy', rows: 8_000 });
  const writer = await connect(db.url);
  let stop = false;
  let writes = 0;
  // Any failed write fails the test (the loop's promise rejects and is awaited below).
  const loop = (async () => {
    let next = 100_000;
    while (!stop) {
      const id = 1 + Math.floor(Math.random() * 8000);
      await writer.query(`UPDATE public.busy SET job_title = $2 WHERE id = $1`, [id, `changed ${writes}`]);
      await writer.query(`INSERT INTO public.busy (id, job_title) VALUES ($1, $2)`, [next, `new ${next}`]);
      // New code inserting both columns with different values: the product's rule keeps the new column's value.
      await writer.query(`INSERT INTO public.busy (id, job_title, favourite_color) VALUES ($1, 'old default', $2)`, [
        next + 500_000,
        `both ${next}`,
      ]);
      next += 1;
      const other = 1 + Math.floor(Math.random() * 8000);
      await writer.query(`UPDATE public.busy SET favourite_color = $2 WHERE id = $1`, [
        other,
        `from new code ${writes}`,
      ]);
      writes += 4;
    }
  })();
  try {
    const result = await runBackfill(session, plan, { batchSize: 200, targetBatchMs: 1, pauseMs: 5 });
    expect(result.alreadyFinished).toBe(false);
  } finally {
    stop = true;
    await loop;
    await writer.end();
  }
  expect(writes).toBeGreaterThan(30);
  expect(await differingRows(session, 'busy')).toBe(0);
  const both = await session.query(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE favourite_color = 'both ' || (id - 500000) AND job_title = favourite_color)::int AS kept FROM public.busy WHERE id >= 600000`,
  );
  expect(both.rows[0].n).toBeGreaterThan(5);
  expect(both.rows[0].kept).toBe(both.rows[0].n);
  expect(await runVerify(session, plan, { batchSize: 500 })).toMatchObject({ differing: 0 });
});

test('SIGKILL part-way, then resume from the stored key: rows behind it are not walked again, no row is written twice', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'killed', rows: 20_000 });
  await resetCounter();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/fixtures-backfill-child.ts', db.url, JSON.stringify(plan)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = 0;
  for (let i = 0; i < 600 && done < 3000; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const row = (
      await session
        .query(`SELECT rows_done::int AS n FROM phasectl.backfills WHERE change_id = $1`, [plan.changeId])
        .catch(() => ({ rows: [] }))
    ).rows[0];
    done = row?.n ?? 0;
  }
  child.kill('SIGKILL');
  await exited;
  expect(stderr).toBe('');
  await killedBackendsGone(session);
  const saved = (
    await session.query(
      `SELECT rows_done::int AS n, (last_key->>0)::int AS last, finished_at FROM phasectl.backfills WHERE change_id = $1`,
      [plan.changeId],
    )
  ).rows[0];
  expect(saved.n).toBeGreaterThanOrEqual(3000);
  expect(saved.n).toBeLessThan(20_000);
  // Every row up to the stored key was rewritten once by a committed batch (the killed batch rolled back whole).
  expect(saved.last).toBe(saved.n);
  expect(saved.finished_at).toBeNull();
  expect(await backfillWrites(session)).toBe(saved.n);
  // Rows behind the stored key made to differ on purpose: a resume does not walk them again, a restart would.
  await writeBehindTrigger(db.url, `UPDATE public.killed SET favourite_color = 'behind the key' WHERE id <= 10`);
  const events: RunnerEvent[] = [];
  const resumed = await runBackfill(session, plan, { log: (e) => events.push(e) });
  expect(events.find((e) => e.type === 'backfill-start')).toMatchObject({ resumedFrom: [String(saved.last)] });
  expect(resumed).toMatchObject({ rowsUpdated: 20_000 - saved.n, rowsDone: 20_000 });
  expect(
    (
      await session.query(
        `SELECT id::int FROM public.killed WHERE favourite_color IS DISTINCT FROM job_title ORDER BY id`,
      )
    ).rows.map((row) => row.id),
  ).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(await backfillWrites(session)).toBe(20_000);
});

test('verify counts a difference planted behind the trigger, and records it', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'planted', rows: 2_000 });
  await runBackfill(session, plan);
  const other = await connect(db.url);
  try {
    await other.query(
      behindSyncTriggers(`UPDATE public.planted SET favourite_color = 'tampered' WHERE id IN (7, 1500)`),
    );
  } finally {
    await other.end();
  }
  expect(await runVerify(session, plan, { batchSize: 300 })).toMatchObject({ differing: 2 });
  expect(
    (await session.query(`SELECT differing::int FROM phasectl.verifications WHERE change_id = $1`, [plan.changeId]))
      .rows,
  ).toEqual([{ differing: 2 }]);
});

test("a row the table's own trigger refuses: the error names the trigger and its function, not the conversion", async () => {
  await session.query(`
    CREATE TABLE public.guarded (id bigint PRIMARY KEY, amount text, amount_int int);
    INSERT INTO public.guarded SELECT g, g::text, NULL FROM generate_series(1, 3000) g;
    CREATE FUNCTION public.refuse_row() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.id = 2345 THEN RAISE EXCEPTION 'row 2345 is frozen'; END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER guarded_frozen BEFORE UPDATE ON public.guarded FOR EACH ROW EXECUTE FUNCTION public.refuse_row();`);
  const plan = {
    ...renamePlan('guarded', { changeId: 'guarded-amount' }),
    updateSql: `UPDATE public.guarded AS t SET amount_int = t.amount::int WHERE (t.id) >= ($1::bigint) AND (t.id) <= ($2::bigint) AND t.amount_int IS DISTINCT FROM t.amount::int`,
  };
  const error = await runBackfill(session, plan, { batchSize: 1000, targetBatchMs: 100_000 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RuntimeFailure);
  const message = (error as Error).message;
  expect(message).toContain('cannot update the row id=2345');
  expect(message).toContain('trigger guarded_frozen (function public.refuse_row())');
  expect(message).toContain('row 2345 is frozen');
  expect(message).not.toContain('cannot convert');
  expect((error as RuntimeFailure).hint).toContain("current_setting('phasectl.backfill', true) = 'on'");
  expect((error as RuntimeFailure).hint).not.toContain('change the up expression');
});

test('a row the expression cannot convert: the batch rolls back and the error names the key and the value', async () => {
  await session.query(`
    CREATE TABLE public.typed (id bigint PRIMARY KEY, amount text, amount_int int);
    INSERT INTO public.typed SELECT g, g::text, NULL FROM generate_series(1, 3000) g;
    UPDATE public.typed SET amount = 'twelve' WHERE id = 1234;`);
  const plan = {
    ...renamePlan('typed', { changeId: 'typed-amount' }),
    updateSql: `UPDATE public.typed AS t SET amount_int = t.amount::int WHERE (t.id) >= ($1::bigint) AND (t.id) <= ($2::bigint) AND t.amount_int IS DISTINCT FROM t.amount::int`,
  };
  const error = await runBackfill(session, plan, { batchSize: 1000, targetBatchMs: 100_000 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(RuntimeFailure);
  expect((error as Error).message).toContain('cannot convert the row id=1234');
  expect((error as Error).message).toContain('invalid input syntax for type integer: "twelve"');
  expect((error as Error).message).toContain('"amount": "twelve"');
  expect((error as RuntimeFailure).hint).toMatch(/fix that row's value .* or change the up expression/);
  // The batches before the bad one committed; the bad batch did not.
  const { rows } = await session.query(
    `SELECT max(id)::int AS top, count(*)::int AS n FROM public.typed WHERE amount_int IS NOT NULL`,
  );
  expect(rows[0]).toEqual({ top: 1000, n: 1000 });
  await session.query(`UPDATE public.typed SET amount = '12' WHERE id = 1234`);
  expect((await runBackfill(session, plan)).rowsDone).toBe(3000);
});

test('connection killed mid-backfill: clear error, progress kept, a rerun completes', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'dropped', rows: 10_000 });
  const victim = await connect(db.url);
  const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  let killed = false;
  const error = await runBackfill(victim, plan, {
    batchSize: 100,
    targetBatchMs: 1,
    log: (event) => {
      if (event.type === 'backfill-progress' && event.rowsDone >= 2000 && !killed) {
        killed = true;
        void session.query('SELECT pg_terminate_backend($1)', [pid]);
      }
    },
  }).catch((e: unknown) => e);
  await victim.end().catch(() => undefined);
  expect(error).toBeInstanceOf(RuntimeFailure);
  expect((error as Error).message).toMatch(/connection to PostgreSQL was lost during the backfill of dropped-rename/);
  expect((error as RuntimeFailure).hint).toMatch(/progress .* is saved.*phasectl backfill dropped-rename/);
  const saved = (
    await session.query(`SELECT rows_done::int AS n FROM phasectl.backfills WHERE change_id = $1`, [plan.changeId])
  ).rows[0];
  expect(saved.n).toBeGreaterThanOrEqual(2000);
  expect(saved.n).toBeLessThan(10_000);
  expect((await runBackfill(session, plan)).rowsDone).toBe(10_000);
  expect(await differingRows(session, 'dropped')).toBe(0);
});

test('an abort between batches saves progress and says how to resume (exit 130 / 143)', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'stopped', rows: 5_000 });
  const controller = new AbortController();
  const error = await runBackfill(session, plan, {
    batchSize: 100,
    targetBatchMs: 1,
    signal: controller.signal,
    log: (event) => {
      if (event.type === 'backfill-progress' && event.rowsDone >= 1000) controller.abort('SIGTERM');
    },
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PhasectlError);
  expect((error as PhasectlError).exitCode).toBe(143);
  expect((error as Error).message).toMatch(/^backfill of stopped-rename stopped at key id=1000; progress is saved$/);
  expect((error as PhasectlError).hint).toContain('phasectl backfill stopped-rename');
  expect((await runBackfill(session, plan)).rowsDone).toBe(5_000);
});

test('a progress row deleted mid-backfill stops it: no batch writes data without recording its progress', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'progress_gone', rows: 4_000 });
  await resetCounter();
  const other = await connect(db.url);
  let deleted: Promise<{ rows: { rows_done: string }[] }> | undefined;
  try {
    const run = runBackfill(session, plan, {
      batchSize: 200,
      targetBatchMs: 1,
      pauseMs: 20,
      log: (event) => {
        // After the second batch: delete the progress row while the backfill pauses between batches.
        if (event.type === 'backfill-progress' && event.rowsDone >= 400 && !deleted) {
          // On a loaded machine the next batch may lock the row first: the DELETE then waits for its commit.
          deleted = other.query(`DELETE FROM phasectl.backfills WHERE change_id = $1 RETURNING rows_done`, [
            plan.changeId,
          ]);
        }
      },
    });
    await expect(run).rejects.toThrow(/progress row of .* disappeared/);
    const recorded = Number((await deleted!).rows[0]!.rows_done);
    expect(recorded).toBeGreaterThanOrEqual(400);
    // Every row written was written by a batch whose progress committed with it; none after the row was gone.
    expect(await backfillWrites(session)).toBe(recorded);
  } finally {
    await other.end();
  }
});
