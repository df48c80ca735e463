import pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { runBackfill } from '../../src/backfill/engine.js';
import { runVerify } from '../../src/backfill/verify.js';
import type { RunnerEvent } from '../../src/events.js';
import { createGeneratedRename, differingRows, renamePlan } from '../support/fixtures-backfill.js';
import { cleanupsAfterAll, databaseSession, type TestDatabase } from '../support/test-project.js';
import { behindSyncTriggers } from '../support/behind-sync-triggers.js';

const cleanups = cleanupsAfterAll();
let db: TestDatabase;
let session: pg.Client;
beforeAll(async () => ({ db, session } = await databaseSession(cleanups)));

/** Records, per UPDATE statement on the table, the synchronous_commit the writing transaction ran with. */
async function recordCommitMode(table: string): Promise<void> {
  await session.query(`
    CREATE TABLE IF NOT EXISTS public.commit_modes (tbl text, mode text);
    CREATE OR REPLACE FUNCTION public.record_commit_mode() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO public.commit_modes VALUES (TG_TABLE_NAME, current_setting('synchronous_commit')); RETURN NULL; END $$;
    CREATE TRIGGER record_commit_mode AFTER UPDATE ON public.${table} FOR EACH STATEMENT EXECUTE FUNCTION public.record_commit_mode();
  `);
}

async function commitModes(table: string): Promise<string[]> {
  const { rows } = await session.query<{ mode: string }>(
    'SELECT DISTINCT mode FROM public.commit_modes WHERE tbl = $1 ORDER BY mode',
    [table],
  );
  return rows.map((row) => row.mode);
}

test('batches commit asynchronously by default, durably on request; the session setting is left as it was', async () => {
  const { plan: asyncPlan } = await createGeneratedRename(session, db.url, { table: 'async_batches', rows: 3_000 });
  const { plan: durablePlan } = await createGeneratedRename(session, db.url, { table: 'durable_batches', rows: 3_000 });
  await recordCommitMode('async_batches');
  await recordCommitMode('durable_batches');
  // The test server runs with synchronous_commit = off; a production session has it on.
  await session.query('SET synchronous_commit = on');
  const before = 'on';

  const fast = await runBackfill(session, asyncPlan, { batchSize: 500, targetBatchMs: 1 });
  const durable = await runBackfill(session, durablePlan, { batchSize: 500, targetBatchMs: 1, durableBatches: true });

  expect(fast.batches).toBeGreaterThan(1);
  expect(await commitModes('async_batches')).toEqual(['off']);
  expect(await commitModes('durable_batches')).toEqual([before]);
  expect(
    (await session.query<{ synchronous_commit: string }>('SHOW synchronous_commit')).rows[0]!.synchronous_commit,
  ).toBe(before);
  expect(await differingRows(session, 'async_batches')).toBe(0);
  expect(await differingRows(session, 'durable_batches')).toBe(0);
  expect(durable.rowsDone).toBe(3_000);
  const state = (
    await session.query(`SELECT rows_done::int AS rows_done, last_key FROM phasectl.backfills WHERE change_id = $1`, [
      asyncPlan.changeId,
    ])
  ).rows[0];
  expect(state).toEqual({ rows_done: 3_000, last_key: ['3000'] });
});

test('the batch size creeps up, ×1.5 at most per fast batch', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'growing', rows: 20_000 });
  const sizes: number[] = [];
  await runBackfill(session, plan, {
    batchSize: 100,
    targetBatchMs: 10_000,
    log: (event: RunnerEvent) => {
      if (event.type === 'backfill-progress') sizes.push(event.batchSize);
    },
  });
  expect(sizes.slice(0, 4)).toEqual([100, 150, 225, 338]);
  expect(await differingRows(session, 'growing')).toBe(0);
});

test('verify over a sparse integer key (negative keys, gaps, keys beyond 2^53) counts every planted difference once', async () => {
  await session.query(`
    CREATE TABLE public.sparse (id bigint PRIMARY KEY, job_title text, favourite_color text);
    INSERT INTO public.sparse SELECT g, 'v' || g, 'v' || g FROM generate_series(-500, 500) AS g;
    INSERT INTO public.sparse SELECT g::bigint * 1000003, 'v' || g, 'v' || g FROM generate_series(1000, 3000) AS g;
    INSERT INTO public.sparse SELECT 9007199254740000 + g, 'v' || g, 'v' || g FROM generate_series(1, 2000) AS g;
    INSERT INTO public.sparse VALUES (9223372036854775807, 'max', 'max');
    UPDATE public.sparse SET favourite_color = 'planted' WHERE id IN (-500, -1, 0, 500, 1000003000, 2000006000, 9007199254740001, 9007199254741999, 9223372036854775807);
    UPDATE public.sparse SET favourite_color = NULL WHERE id = 3000009000;
    ANALYZE public.sparse;
  `);
  const plan = renamePlan('sparse');
  const events: RunnerEvent[] = [];
  const result = await runVerify(session, plan, {
    batchSize: 100,
    targetBatchMs: 10_000,
    log: (event) => events.push(event),
  });
  expect(result.differing).toBe(10);
  expect(await differingRows(session, 'sparse')).toBe(10);
  // Gaps are skipped by the first-key probe: batches stay near rows / size, not key span / size.
  expect(result.batches).toBeLessThan(60);
  const recorded = (
    await session.query(`SELECT differing::int AS differing FROM phasectl.verifications WHERE change_id = $1`, [
      plan.changeId,
    ])
  ).rows[0];
  expect(recorded).toEqual({ differing: 10 });
});

test('verify over a text key walks by OFFSET and still counts every difference once', async () => {
  await session.query(`
    CREATE TABLE public.text_keyed (id text PRIMARY KEY, job_title text, favourite_color text);
    INSERT INTO public.text_keyed SELECT 'k' || lpad(g::text, 5, '0'), 'v' || g, 'v' || g FROM generate_series(1, 5000) AS g;
    UPDATE public.text_keyed SET favourite_color = 'planted' WHERE id IN ('k00001', 'k02500', 'k05000');
  `);
  const plan = { ...renamePlan('text_keyed'), keyTypes: ['text'] };
  plan.updateSql = plan.updateSql.replace(/::bigint/g, '::text');
  plan.countDifferentSql = plan.countDifferentSql.replace(/::bigint/g, '::text');
  const result = await runVerify(session, plan, { batchSize: 700, targetBatchMs: 10_000 });
  expect(result.differing).toBe(3);
  expect(result.batches).toBeGreaterThanOrEqual(4);
});

test('verify: a span that turns out dense runs past the count timeout and is retried narrower, counting each row once', async () => {
  // Keys 10000..2000000 step 10000 (sparse), then 2,000,001..2,000,300 (dense, all differing); each dense row costs 2 ms to check.
  await session.query(`
    CREATE TABLE public.turning_dense (id bigint PRIMARY KEY, job_title text, favourite_color text);
    INSERT INTO public.turning_dense SELECT g::bigint * 10000, 'v', 'v' FROM generate_series(1, 200) AS g;
    INSERT INTO public.turning_dense SELECT 2000000 + g, 'v', 'v' FROM generate_series(1, 300) AS g;
    UPDATE public.turning_dense SET favourite_color = 'planted' WHERE id = 10000 OR id > 2000000;
  `);
  const plan = renamePlan('turning_dense');
  plan.countDifferentSql = plan.countDifferentSql.replace(
    ' AND t.favourite_color IS DISTINCT FROM',
    ' AND (t.id <= 2000000 OR pg_catalog.pg_sleep(0.002) IS NOT NULL) AND t.favourite_color IS DISTINCT FROM',
  );
  const events: RunnerEvent[] = [];
  const result = await runVerify(session, plan, {
    batchSize: 100,
    targetBatchMs: 5_000,
    countTimeoutMs: 400,
    log: (event) => events.push(event),
  });
  expect(result.differing).toBe(301);
  expect(events.filter((event) => event.type === 'retry').length).toBeGreaterThan(0);
});

test('integer keys, sparse then dense: no batch rewrites more than 1.5× the rows of the one before, and every row is filled', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'sparse_dense', rows: 0 });
  // Rows written behind the sync trigger, so the new column starts empty (as rows written before phase 1).
  await session.query(
    behindSyncTriggers(`
    INSERT INTO public.sparse_dense (id, job_title) SELECT g * 1000, 'sparse ' || g FROM generate_series(1, 2000) g;
    INSERT INTO public.sparse_dense (id, job_title) SELECT 3000000 + g, 'dense ' || g FROM generate_series(1, 30000) g`),
  );
  await session.query(`
    TRUNCATE public.backfill_writes;
    ANALYZE public.sparse_dense`);
  const perBatch: Array<{ size: number; rows: number }> = [];
  let done = 0;
  const result = await runBackfill(session, plan, {
    batchSize: 200,
    targetBatchMs: 1000, // every batch is "fast": the size grows ×1.5 each time, the worst case for a span
    log: (event: RunnerEvent) => {
      if (event.type !== 'backfill-progress') return;
      perBatch.push({ size: event.batchSize, rows: event.rowsDone - done });
      done = event.rowsDone;
    },
  });
  expect(result.rowsUpdated).toBe(2000 + 30000);
  expect(await differingRows(session, 'sparse_dense')).toBe(0);
  // Cutting batches by key value while the keys are sparse would let the size (in keys) outgrow the rows
  // actually rewritten, and the first dense batch would then rewrite far more rows than any before it.
  expect(perBatch[0]!.rows).toBeLessThanOrEqual(200);
  perBatch.slice(1).forEach((batch, i) => expect(batch.rows).toBeLessThanOrEqual(Math.ceil(1.5 * perBatch[i]!.rows)));
  expect(perBatch.length).toBeGreaterThan(5);
});
