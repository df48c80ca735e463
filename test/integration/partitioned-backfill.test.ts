import { spawn } from 'node:child_process';
import pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { runBackfill } from '../../src/backfill/engine.js';
import { loadRanges, readRangeSummaries } from '../../src/backfill/range-state.js';
import { ensureStateSchema } from '../../src/session/state-schema.js';
import { runVerify } from '../../src/backfill/verify.js';
import { workerPool } from '../../src/backfill/workers.js';
import type { RunnerEvent } from '../../src/events.js';
import { differingRows } from '../support/fixtures-backfill.js';
import { createPartitionedRename, startWriters, writesPerLeaf } from '../support/fixtures-partitioned.js';
import { stringify } from 'yaml';
import { changeToPlain } from '../../src/spec/edit.js';
import { phasectl } from '../support/cli.js';
import { client as connect, makeProject } from '../support/fixtures-project.js';
import { waitFor, writeBehindTrigger } from '../support/guard-state.js';
import { killedBackendsGone } from '../support/killed-backends.js';
import { cleanupsAfterAll, databaseSession, type TestDatabase } from '../support/test-project.js';

/**
 * The backfill and verify of a partitioned table (issue 13): each leaf partition walked on its own key index with
 * its own progress row, resumable after kill -9, leaves attached or created mid-walk walked before the backfill
 * reports done, leaves detached or dropped mid-walk skipped without failing the run.
 */
const cleanups = cleanupsAfterAll();
let db: TestDatabase;
let session: pg.Client;
beforeAll(async () => ({ db, session } = await databaseSession(cleanups)));

interface StoredRange {
  range_no: number;
  leaf: string;
  after: string | null;
  upper: string | null;
  last: string | null;
  rows_done: number;
  finished: boolean;
}

async function storedRanges(changeId: string): Promise<StoredRange[]> {
  const { rows } = await session
    .query<StoredRange>(
      `SELECT range_no, partition_schema || '.' || partition_name AS leaf, after_key->>-1 AS after, upper_key->>-1 AS upper,
              last_key->>-1 AS last, rows_done::int AS rows_done, finished_at IS NOT NULL AS finished
         FROM phasectl.backfill_ranges WHERE change_id = $1 AND direction = 'up' ORDER BY range_no`,
      [changeId],
    )
    .catch(() => ({ rows: [] as StoredRange[] }));
  return rows;
}

function partitionEvents(events: RunnerEvent[]) {
  return events.flatMap((event) => (event.type === 'backfill-partitions' ? [event] : []));
}

test('a backfill_ranges table made by an older phasectl gains the partition columns; its rows still read as key ranges', async () => {
  await ensureStateSchema(session);
  // The table as phasectl created it before partition support.
  await session.query(`
    CREATE TABLE phasectl.backfill_ranges (
      change_id text NOT NULL, direction text NOT NULL, range_no int NOT NULL, after_key jsonb, upper_key jsonb NOT NULL,
      last_key jsonb, rows_done bigint NOT NULL DEFAULT 0, updated_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz,
      PRIMARY KEY (change_id, direction, range_no),
      FOREIGN KEY (change_id, direction) REFERENCES phasectl.backfills (change_id, direction) ON DELETE CASCADE);
    CREATE TABLE phasectl.backfill_pauses (
      change_id text NOT NULL, direction text NOT NULL, reason text NOT NULL, since timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (change_id, direction),
      FOREIGN KEY (change_id, direction) REFERENCES phasectl.backfills (change_id, direction) ON DELETE CASCADE);
    INSERT INTO phasectl.backfills (change_id, direction, upper_key) VALUES ('legacy', 'up', '["20"]');
    INSERT INTO phasectl.backfill_ranges (change_id, direction, range_no, after_key, upper_key, last_key, rows_done)
      VALUES ('legacy', 'up', 1, NULL, '["10"]', '["4"]', 4), ('legacy', 'up', 2, '["10"]', '["20"]', NULL, 0);`);
  const legacy = [
    { index: 1, after: null, upper: ['10'], last: ['4'], rowsDone: 4, finished: false },
    { index: 2, after: ['10'], upper: ['20'], last: null, rowsDone: 0, finished: false },
  ];
  expect(await loadRanges(session, { changeId: 'legacy', direction: 'up' })).toEqual(legacy);
  const { plan } = await createPartitionedRename(session, db.url, {
    table: 'legacy_events',
    rows: 1000,
    layout: 'range',
  });
  expect(await runBackfill(session, plan)).toMatchObject({ rowsDone: 1000 });
  expect(await differingRows(session, 'legacy_events')).toBe(0);
  expect(await loadRanges(session, { changeId: 'legacy', direction: 'up' })).toEqual(legacy);
  await session.query(`DELETE FROM phasectl.backfills WHERE change_id = 'legacy'`);
});

test('range partitions and a default, writers running: every leaf walked on its own, verify in parallel, a repair', async () => {
  const { plan, leaves } = await createPartitionedRename(session, db.url, {
    table: 'events',
    rows: 6000,
    layout: 'range',
    partitions: 4,
  });
  const writer = await connect(db.url);
  const writers = startWriters(writer, 'events', 6000, false);
  const events: RunnerEvent[] = [];
  let writes: number;
  try {
    const result = await runBackfill(session, plan, {
      batchSize: 200,
      targetBatchMs: 1,
      pauseMs: 5,
      log: (event) => events.push(event),
    });
    expect(result.alreadyFinished).toBe(false);
  } finally {
    writes = await writers.stop();
    await writer.end();
  }
  expect(writes).toBeGreaterThan(20);
  expect(partitionEvents(events)[0]).toMatchObject({ found: [...leaves].sort(), skipped: [] });
  expect(await differingRows(session, 'events')).toBe(0);
  // Every original row rewritten at most once, each by a batch on its own leaf; the application's rows (written
  // through the trigger) were in sync already.
  const perLeaf = await writesPerLeaf(session);
  // (The counter is shared by every test of this file: this table's leaves only.)
  const total = leaves.reduce((sum, leaf) => sum + (perLeaf[leaf] ?? 0), 0);
  expect(total).toBeLessThanOrEqual(6000);
  expect(total).toBeGreaterThanOrEqual(6000 - writes);
  const state = (
    await session.query(
      `SELECT rows_done::int AS n, finished_at IS NOT NULL AS finished FROM phasectl.backfills WHERE change_id = $1`,
      [plan.changeId],
    )
  ).rows[0];
  expect(state).toEqual({ n: total, finished: true });
  // Finished: the leaves' ranges are folded into the change's row.
  expect(await storedRanges(plan.changeId)).toEqual([]);

  // Differences planted behind the trigger in two leaves (one the default partition): verify in parallel finds both.
  await writeBehindTrigger(db.url, `UPDATE public.events SET favourite_color = 'tampered' WHERE id IN (1500, 5900)`);
  const pool = workerPool(db.url, 2, 'phasectl test');
  try {
    expect(await runVerify(session, plan, { jobs: 2, openWorker: pool.open, batchSize: 500 })).toMatchObject({
      differing: 2,
    });
    const repaired = await runBackfill(session, plan, { repair: true, jobs: 2, openWorker: pool.open });
    expect(repaired.rowsUpdated).toBe(2);
    expect(await runVerify(session, plan, { jobs: 2, openWorker: pool.open, batchSize: 500 })).toMatchObject({
      differing: 0,
    });
  } finally {
    await pool.close();
  }
  expect(await differingRows(session, 'events')).toBe(0);
});

test('two levels (list, then range) with a default at each level, writers running, --jobs 3: 0 differing', async () => {
  const { plan, leaves } = await createPartitionedRename(session, db.url, {
    table: 'orders',
    rows: 6000,
    layout: 'two-level',
  });
  expect(plan.keyColumns).toEqual(['region', 'id']);
  const writer = await connect(db.url);
  const writers = startWriters(writer, 'orders', 6000, true);
  const events: RunnerEvent[] = [];
  const pool = workerPool(db.url, 3, 'phasectl test');
  let writes: number;
  try {
    await runBackfill(session, plan, {
      jobs: 3,
      openWorker: pool.open,
      batchSize: 100,
      targetBatchMs: 1,
      pauseMs: 5,
      log: (event) => events.push(event),
    });
  } finally {
    writes = await writers.stop();
    await writer.end();
  }
  try {
    expect(writes).toBeGreaterThan(20);
    // Leaves only: the list partitions 'eu' and 'us' are partitioned themselves and not walked.
    expect(partitionEvents(events)[0]?.found).toEqual([...leaves].sort());
    expect(events.filter((e) => e.type === 'backfill-progress').every((e) => 'jobs' in e && e.jobs === 3)).toBe(true);
    expect(await differingRows(session, 'orders')).toBe(0);
    expect(await runVerify(session, plan, { jobs: 3, openWorker: pool.open, batchSize: 300 })).toMatchObject({
      differing: 0,
    });
  } finally {
    await pool.close();
  }
});

test('a partition attached (with rows not in sync) and one created while the backfill runs are walked before it reports done', async () => {
  const { plan, leaves } = await createPartitionedRename(session, db.url, {
    table: 'monthly',
    rows: 4000,
    layout: 'range',
    partitions: 3,
  });
  // Next month's data, loaded before it is attached: its new column is empty, no trigger ever saw these rows.
  await session.query(`
    CREATE TABLE public.monthly_late (LIKE public.monthly INCLUDING DEFAULTS);
    INSERT INTO public.monthly_late (id, job_title) SELECT g, 'late ' || g FROM generate_series(10001, 10500) g;`);
  const events: RunnerEvent[] = [];
  const running = runBackfill(session, plan, {
    batchSize: 100,
    targetBatchMs: 1,
    pauseMs: 20,
    log: (event) => events.push(event),
  });
  const other = await connect(db.url);
  try {
    await waitFor('the walk under way', async () => (await storedRanges(plan.changeId)).some((r) => r.rows_done > 0));
    await other.query(
      `ALTER TABLE public.monthly ATTACH PARTITION public.monthly_late FOR VALUES FROM (10001) TO (20001)`,
    );
    await other.query(`CREATE TABLE public.monthly_new PARTITION OF public.monthly FOR VALUES FROM (20001) TO (30001)`);
    await other.query(
      `INSERT INTO public.monthly (id, job_title) SELECT g, 'new ' || g FROM generate_series(20001, 20100) g`,
    );
  } finally {
    await other.end();
  }
  const result = await running;
  expect(result.rowsDone).toBe(4500);
  const found = partitionEvents(events).flatMap((event) => event.found);
  expect(found.sort()).toEqual([...leaves, 'public.monthly_late', 'public.monthly_new'].sort());
  expect((await writesPerLeaf(session))['public.monthly_late']).toBe(500);
  expect((await writesPerLeaf(session))['public.monthly_new']).toBeUndefined();
  expect(await differingRows(session, 'monthly')).toBe(0);
  expect(await runVerify(session, plan)).toMatchObject({ differing: 0 });
});

test('a partition detached and one dropped mid-walk are skipped, the run does not fail', async () => {
  const { plan } = await createPartitionedRename(session, db.url, {
    table: 'shrinking',
    rows: 5000,
    layout: 'range',
    partitions: 4,
  });
  const events: RunnerEvent[] = [];
  const running = runBackfill(session, plan, {
    batchSize: 50,
    targetBatchMs: 1,
    pauseMs: 20,
    log: (event) => events.push(event),
  });
  const other = await connect(db.url);
  try {
    await waitFor('the second leaf part-way', async () =>
      (await storedRanges(plan.changeId)).some((r) => r.leaf === 'public.shrinking_p02' && r.rows_done > 0),
    );
    await other.query(`ALTER TABLE public.shrinking DETACH PARTITION public.shrinking_p02`);
    await other.query(`DROP TABLE public.shrinking_p04`);
  } finally {
    await other.end();
  }
  const result = await running;
  expect(result.alreadyFinished).toBe(false);
  expect(partitionEvents(events).flatMap((event) => event.skipped)).toEqual([
    'public.shrinking_p02',
    'public.shrinking_p04',
  ]);
  // The detached table keeps what was walked of it; it is no longer the table's.
  const detached = (
    await session.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM public.shrinking_p02 WHERE favourite_color IS DISTINCT FROM job_title`,
    )
  ).rows[0]!.n;
  expect(detached).toBeGreaterThan(0);
  expect(await differingRows(session, 'shrinking')).toBe(0);
  expect(await runVerify(session, plan)).toMatchObject({ differing: 0 });
  expect(
    (
      await session.query(`SELECT finished_at IS NOT NULL AS finished FROM phasectl.backfills WHERE change_id = $1`, [
        plan.changeId,
      ])
    ).rows,
  ).toEqual([{ finished: true }]);
});

test('kill -9 of a --jobs 3 backfill, then a resume: each leaf continues where it stopped, finished leaves are not walked again', async () => {
  const rows = 12_000;
  const { change, plan, leaves } = await createPartitionedRename(session, db.url, {
    table: 'killed',
    rows,
    layout: 'range',
    partitions: 4,
  });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/partition-backfill-child.ts', db.url, JSON.stringify(plan), '3'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await waitFor(
    'a leaf finished and another part-way',
    async () => {
      const saved = await storedRanges(plan.changeId);
      return saved.some((r) => r.finished) && saved.some((r) => !r.finished && r.rows_done >= 100);
    },
    60_000,
  );
  child.kill('SIGKILL');
  await exited;
  expect(stderr).toBe('');
  await killedBackendsGone(session);

  const saved = await storedRanges(plan.changeId);
  expect(saved.map((r) => r.leaf)).toEqual([...leaves].sort());
  const before = await writesPerLeaf(session);
  for (const range of saved) {
    // Each leaf's committed batches and its progress row agree (the killed batches rolled back whole).
    expect(before[range.leaf] ?? 0).toBe(range.rows_done);
    if (!range.finished && range.last !== null) {
      const unfilled = await session.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ${range.leaf} WHERE id > $1 AND favourite_color IS NULL`,
        [range.last],
      );
      expect(unfilled.rows[0]!.n).toBe(Number(range.upper) - Number(range.last));
    }
  }
  // status's view of it: per leaf, rows done against the estimate, finished leaves counted.
  const [summary] = await readRangeSummaries(session, plan.changeId);
  expect(summary?.partitions?.map((leaf) => leaf.partition)).toEqual([...leaves].sort());
  expect(summary?.partitions?.filter((leaf) => leaf.finished).length).toBe(saved.filter((r) => r.finished).length);
  for (const leaf of summary?.partitions ?? []) expect(Math.abs(leaf.rowsEstimated - rows / 5)).toBeLessThan(rows / 50);
  // … and through the CLI, text and --json (phases.yaml written from the change: `plan` refuses partitioned tables
  // until the DDL side lands).
  const project = await makeProject(
    {},
    stringify({ version: 1, releases: ['1'], changes: [changeToPlain({ ...change, releases: { phase1: '1' } })] }),
  );
  try {
    const text = await phasectl(['status', '--project', project.dir], { env: { DATABASE_URL: db.url } });
    const done = saved.filter((r) => r.finished).length;
    expect(text.stdout).toContain(`${done}/5 partitions done`);
    const open = saved.find((r) => !r.finished && r.rows_done > 0);
    if (open) expect(text.stdout).toMatch(new RegExp(`partition ${open.leaf}: ${open.rows_done}/~\\d+ rows`));
    const json = await phasectl(['status', '--project', project.dir, '--json'], { env: { DATABASE_URL: db.url } });
    const backfill = (JSON.parse(json.stdout) as { changes: Array<{ backfills: Array<Record<string, any>> }> })
      .changes[0]!.backfills[0]!;
    expect(backfill.partitions).toMatchObject({ total: 5, finished: done });
    expect(backfill.partitions.leaves).toHaveLength(5);
  } finally {
    await project.remove();
  }

  const pool = workerPool(db.url, 3, 'phasectl test');
  try {
    const resumed = await runBackfill(session, plan, { jobs: 3, openWorker: pool.open });
    expect(resumed.rowsDone).toBe(rows);
    const after = await writesPerLeaf(session);
    for (const range of saved.filter((r) => r.finished)) expect(after[range.leaf]).toBe(before[range.leaf]);
    // (The counter is shared by every test of this file: this table's leaves only.)
    const total = leaves.reduce((sum, leaf) => sum + (after[leaf] ?? 0), 0);
    expect(total / rows).toBeLessThanOrEqual(1.05);
    expect(total).toBe(rows);
    expect(await differingRows(session, 'killed')).toBe(0);
    expect(await runVerify(session, plan, { jobs: 3, openWorker: pool.open })).toMatchObject({ differing: 0 });
  } finally {
    await pool.close();
  }
});

test('a partition created while a batch writes the DEFAULT partition waits for that batch: no deadlock, both go through', async () => {
  // 1 partition of ids 1–200 and a DEFAULT holding 201–400.
  const { plan } = await createPartitionedRename(session, db.url, {
    table: 'lockorder',
    rows: 400,
    layout: 'range',
    partitions: 1,
  });
  // Holds the first batch on the DEFAULT partition after it locked the leaf and before PostgreSQL checks the row
  // against the leaf's bounds, which reads (and locks) the parent: the window a monthly job's CREATE TABLE … PARTITION
  // OF (parent first, then the DEFAULT partition, which it scans) can fall into.
  await session.query(`
    CREATE FUNCTION public.lockorder_hold() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF pg_catalog.current_setting('lockorder.held', true) IS DISTINCT FROM 'yes' THEN
        PERFORM pg_catalog.set_config('lockorder.held', 'yes', false);
        PERFORM pg_catalog.pg_sleep(1.5);
      END IF;
      RETURN NEW;
    END $$;
    CREATE TRIGGER hold BEFORE UPDATE ON public.lockorder_default FOR EACH ROW EXECUTE FUNCTION public.lockorder_hold();`);
  const events: RunnerEvent[] = [];
  const running = runBackfill(session, plan, { batchSize: 50, log: (event) => events.push(event) });
  const other = await connect(db.url);
  try {
    await waitFor('a batch held on the DEFAULT partition', async () => {
      const { rows } = await other.query(
        `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`,
      );
      return rows.length > 0;
    });
    await other.query(
      `CREATE TABLE public.lockorder_next PARTITION OF public.lockorder FOR VALUES FROM (10001) TO (20001)`,
    );
  } finally {
    await other.end();
  }
  const result = await running;
  expect(events.filter((event) => event.type === 'retry')).toEqual([]);
  expect(result.rowsDone).toBe(400);
  expect(await differingRows(session, 'lockorder')).toBe(0);
});
