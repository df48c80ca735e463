import pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { runBackfill } from '../../src/backfill/engine.js';
import { runVerify } from '../../src/backfill/verify.js';
import { PhasectlError } from '../../src/errors.js';
import type { RunnerEvent } from '../../src/events.js';
import { createGeneratedRename, differingRows } from '../support/fixtures-backfill.js';
import { client as connect } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseSession, type TestDatabase } from '../support/test-project.js';
import { behindSyncTriggers } from '../support/behind-sync-triggers.js';
import { hostileCodeRole } from '../support/planned-project.js';

/**
 * Phase 1's copy verified as it is made (src/backfill/copy-check.ts): a first run with the table's triggers unchanged
 * reports `verifiedAsCopied`, so no walk follows; anything that could let a write past the sync triggers after its
 * row's batch, or a run that does not know what happened before it, leaves it unset (the walk runs, as before).
 */
const cleanups = cleanupsAfterAll();
let db: TestDatabase;
let session: pg.Client;
beforeAll(async () => ({ db, session } = await databaseSession(cleanups)));

/** Runs `during` on another connection once the first batch has committed; the backfill pauses between batches. */
async function backfillWhile(
  table: string,
  during: (other: pg.Client) => Promise<unknown>,
): Promise<Awaited<ReturnType<typeof runBackfill>>> {
  const { plan } = await createGeneratedRename(session, db.url, { table, rows: 6_000 });
  const other = await connect(db.url);
  let side: Promise<unknown> | undefined;
  try {
    const result = await runBackfill(session, plan, {
      batchSize: 300,
      targetBatchMs: 1,
      pauseMs: 100,
      log: (event: RunnerEvent) => {
        if (event.type === 'backfill-progress' && !side) side = during(other);
      },
    });
    await side;
    return result;
  } finally {
    await other.end();
  }
}

test('a first run with the triggers unchanged is verified as copied, and the table is in sync', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'plain', rows: 5_000 });
  expect(plan.verifyAsCopied).toBe(true);
  const result = await runBackfill(session, plan, { batchSize: 500, targetBatchMs: 1 });
  expect(result).toMatchObject({ rowsUpdated: 5_000, verifiedAsCopied: true });
  expect(await differingRows(session, 'plain')).toBe(0);
});

test('a write behind the sync triggers after its row was copied: not verified as copied, and the walk finds the row', async () => {
  const result = await backfillWhile('bypassed', (other) =>
    other.query(behindSyncTriggers(`UPDATE public.bypassed SET job_title = 'behind the trigger' WHERE id = 1`)),
  );
  expect(result.alreadyFinished).toBe(false);
  expect(result.verifiedAsCopied).toBeUndefined();
  expect(await differingRows(session, 'bypassed')).toBe(1);
});

test('a sync function replaced mid-copy (same body): not verified as copied', async () => {
  const result = await backfillWhile('replaced', async (other) => {
    const { rows } = await other.query<{ def: string }>(
      `SELECT pg_get_functiondef(t.tgfoid) AS def FROM pg_trigger t
        WHERE t.tgrelid = 'public.replaced'::regclass AND t.tgname ~ '^zz_phasectl_sync_' ORDER BY t.tgname LIMIT 1`,
    );
    await other.query(rows[0]!.def);
  });
  expect(result.verifiedAsCopied).toBeUndefined();
});

test('a BEFORE row trigger that fires after the sync triggers, created after the expand step: not verified as copied', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'late', rows: 2_000 });
  await session.query(`
    CREATE FUNCTION public.late_trim() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN NEW.job_title := btrim(NEW.job_title); RETURN NEW; END $$;
    CREATE TRIGGER zzzz_late_trim BEFORE UPDATE ON public.late FOR EACH ROW EXECUTE FUNCTION public.late_trim();`);
  const result = await runBackfill(session, plan, { batchSize: 500, targetBatchMs: 1 });
  expect(result.verifiedAsCopied).toBeUndefined();
  // What it would have missed: an application write after the copy, trimmed after the sync trigger copied it.
  await session.query(`UPDATE public.late SET job_title = '  padded  ' WHERE id = 1`);
  expect(await differingRows(session, 'late')).toBe(1);
});

test('a BEFORE UPDATE trigger created after the expand step, beside column-list sync triggers: not verified as copied', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'sets_title', rows: 2_000 });
  // Sorts before the sync triggers, and sets the old column on updates that do not name it: no sync trigger fires.
  await session.query(`
    CREATE FUNCTION public.title_case() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN NEW.job_title := NEW.job_title || '!'; RETURN NEW; END $$;
    CREATE TRIGGER a_title_case BEFORE UPDATE ON public.sets_title FOR EACH ROW EXECUTE FUNCTION public.title_case();`);
  const result = await runBackfill(session, plan, { batchSize: 500, targetBatchMs: 1 });
  expect(result.verifiedAsCopied).toBeUndefined();
  // What it would have missed: an application write after the copy that names neither column.
  await session.query(`UPDATE public.sets_title SET other = 1 WHERE id = 1`);
  expect(await differingRows(session, 'sets_title')).toBe(1);
});

test('a sync trigger enabled without ALWAYS (skipped under session_replication_role = replica): not verified as copied', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'origin_only', rows: 1_000 });
  const { rows } = await session.query<{ name: string }>(
    `SELECT tgname AS name FROM pg_trigger WHERE tgrelid = 'public.origin_only'::regclass AND tgname ~ '^zz_phasectl_sync_'`,
  );
  expect(rows.length).toBeGreaterThan(0);
  await session.query(`ALTER TABLE public.origin_only ENABLE TRIGGER ${pg.escapeIdentifier(rows[0]!.name)}`);
  const result = await runBackfill(session, plan, { batchSize: 500 });
  expect(result.verifiedAsCopied).toBeUndefined();
});

test('a child table by INHERITS created after plan: not verified as copied', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'parent', rows: 1_000 });
  await session.query(`CREATE TABLE public.parent_child () INHERITS (public.parent)`);
  const result = await runBackfill(session, plan, { batchSize: 500 });
  expect(result.verifiedAsCopied).toBeUndefined();
});

test('a resumed run is not verified as copied: it cannot know what was written between its runs', async () => {
  const { plan } = await createGeneratedRename(session, db.url, { table: 'resumed', rows: 3_000 });
  const controller = new AbortController();
  await expect(
    runBackfill(session, plan, {
      batchSize: 300,
      targetBatchMs: 1,
      signal: controller.signal,
      log: (event) => {
        if (event.type === 'backfill-progress') controller.abort('SIGINT');
      },
    }),
  ).rejects.toBeInstanceOf(PhasectlError);
  // Between the runs, behind the triggers, on a row the first run copied.
  await session.query(behindSyncTriggers(`UPDATE public.resumed SET job_title = 'between runs' WHERE id = 2`));
  const resumed = await runBackfill(session, plan, { batchSize: 300 });
  expect(resumed.alreadyFinished).toBe(false);
  expect(resumed.verifiedAsCopied).toBeUndefined();
  expect(await runVerify(session, plan)).toMatchObject({ differing: 1 });
});

test("another role's code planted while the batches ran (an index calling its function): the copy verified as made still stops on it", async () => {
  const hostile = await hostileCodeRole(
    cleanups,
    db.url,
    `CREATE FUNCTION hostile_code.same(bigint, bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $f$
     BEGIN RETURN $1 = $2; END $f$;`,
  );
  // An index changes no trigger: the fingerprint holds, so only the trust check at the end can see it.
  const run = backfillWhile('planted', (other) =>
    other.query(`CREATE INDEX planted_idx ON public.planted ((hostile_code.same(id, id)))`),
  );
  await expect(run).rejects.toThrow(`owned by role ${hostile.name}`);
});
