import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { findLostWrites } from '../../src/demo/lost-writes.js';
import { runDemo } from '../../src/demo/run-demo.js';
import { initialJobTitle } from '../../src/demo/sample-table.js';
import { keyStatements } from '../../src/demo/sql-excerpt.js';
import { runTimings } from '../../src/demo/run-timings.js';
import { createTestDatabase } from '../support/database.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

test('runDemo on a real server: both app versions write, every row holds its last committed write, phase 3 landed', async () => {
  let output = '';
  const { summary } = await runDemo({
    rows: 3000,
    databaseUrl: database.url,
    write: (t) => void (output += t),
    tty: false,
    color: false,
    pauseMs: 300,
    instances: 3,
  });
  expect(summary.lost).toEqual([]);
  expect(summary.failedWrites).toBe(0);
  expect(summary.byVersion.old).toBeGreaterThan(0);
  expect(summary.byVersion.new).toBeGreaterThan(0);
  expect(summary.inserts).toBeGreaterThan(0);
  expect(summary.rowsChecked).toBe(3000 + summary.inserts);
  expect(summary.longestLock?.file).toMatch(/\.up\.sql$/);
  expect(summary.backfills).toHaveLength(1);
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  try {
    const { rows } = await client.query(`SELECT phase, release FROM phasectl.changes`);
    expect(rows).toEqual([{ phase: 3, release: '1.6.0' }]);
    const { rows: columns } = await client.query(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' AND column_name IN ('job_title', 'favourite_color')`,
    );
    expect(columns).toEqual([{ column_name: 'favourite_color' }]);
  } finally {
    await client.end();
  }
  expect(output).toContain('writes lost: 0');
  expect(output).not.toContain('\u001b[');
});

test('findLostWrites flags a changed value, a missing inserted row and a missing sample row', () => {
  const expected = new Map([
    [2, 'old-app1-w5'],
    [10, 'new-app2-w1'],
  ]);
  const rows = [
    { id: 1, value: initialJobTitle(1) },
    { id: 2, value: 'old-app1-w4' },
    // id 3 (a sample row) is missing; id 10 (inserted by a writer) is missing
  ];
  expect(findLostWrites(rows, expected, 3)).toEqual([
    { id: 2, expected: 'old-app1-w5', found: 'old-app1-w4' },
    { id: 3, expected: initialJobTitle(3), found: undefined },
    { id: 10, expected: 'new-app2-w1', found: undefined },
  ]);
  expect(
    findLostWrites(
      [
        { id: 1, value: initialJobTitle(1) },
        { id: 2, value: 'old-app1-w5' },
        { id: 10, value: 'new-app2-w1' },
      ],
      expected,
      2,
    ),
  ).toEqual([]);
});

test('run timings: a transactional SQL step is timed from its last attempt; backfills give a rate', () => {
  let clock = 0;
  const timings = runTimings(() => clock);
  timings.log({ type: 'file-start', file: 'a.up.sql', transaction: true, action: 'sql' });
  clock = 100;
  timings.log({ type: 'retry', file: 'a.up.sql', attempt: 1, delayMs: 50, reason: 'lock timeout' });
  clock = 190;
  timings.log({ type: 'file-done', file: 'a.up.sql', durationMs: 190 });
  timings.log({ type: 'file-start', file: 'b.up.sql', transaction: false, action: 'backfill' });
  timings.log({
    type: 'backfill-start',
    changeId: 'c',
    direction: 'up',
    upperKey: ['9'],
    rowsEstimated: 9,
    resumedFrom: null,
  });
  clock = 1190;
  timings.log({ type: 'backfill-done', changeId: 'c', direction: 'up', rowsDone: 500, alreadyFinished: false });
  timings.log({ type: 'file-done', file: 'b.up.sql', durationMs: 1000 });
  expect(timings.longestLock()).toEqual({ file: 'a.up.sql', ms: 40 });
  expect(timings.backfills).toEqual([{ changeId: 'c', direction: 'up', rows: 500, ms: 1000, rowsPerSecond: 500 }]);
});

test('key statements skip the boilerplate and name DO blocks by their comment', () => {
  const text = `-- phasectl change=x\nSET LOCAL lock_timeout = '2s';\nCREATE SCHEMA IF NOT EXISTS phasectl;\n-- Guard: refuse early.\n-- more\nDO $x$ BEGIN\n  -- inner; comment\n  PERFORM 1;\nEND $x$;\nALTER TABLE t\n  ADD COLUMN c text;\nINSERT INTO phasectl.changes VALUES (1);\n`;
  expect(keyStatements(text)).toEqual(['DO $$ … $$  -- Guard: refuse early.', 'ALTER TABLE t …']);
});
