import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { waitForHeldBackfill } from '../support/backfill-pause.js';
import { jsonEvents, phasectl, startPhasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * `--max-replication-lag` with a physical replication slot no replica streams from (its replica is down): the lag of
 * that replica is unknown and grows with every batch (the slot keeps the WAL), so the backfill waits and says which
 * slot; dropping the slot (its replica is gone) lets it go on. A slot is cluster-wide: the name is this file's own.
 */
const CHANGE = 'users-job-title';
const ROWS = 2000;
const SLOT = 'phasectl_test_gone_replica';
const cleanups = cleanupsAfterAll();

describe.sequential('phasectl migrate --max-replication-lag, a replica down', () => {
  let url: string;
  let dir: string;
  beforeAll(async () => {
    ({ url, dir } = await databaseWithGeneratedProject(cleanups, { rows: ROWS, releases: ['1.0.0'] }));
    await query(url, `SELECT pg_catalog.pg_create_physical_replication_slot('${SLOT}', true)`);
  }, 240_000);
  afterAll(async () => {
    await query(
      url,
      `SELECT pg_catalog.pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots WHERE slot_name = '${SLOT}'`,
    ).catch(() => undefined);
  });

  test('pauses while a physical slot has no replica streaming from it, goes on once the slot is dropped', async () => {
    const run = startPhasectl(['migrate', '--project', dir, '--max-replication-lag', '5', '--json'], {
      env: { DATABASE_URL: url },
    });
    await waitForHeldBackfill(url, CHANGE);
    const status = await phasectl(['status', '--project', dir], { env: { DATABASE_URL: url } });
    expect(status.stdout).toContain(`paused since`);
    expect(status.stdout).toContain(`physical replication slot ${SLOT} has no replica streaming from it`);
    expect(await query(url, `SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS NOT NULL`)).toEqual([
      { n: 0 },
    ]);

    await query(url, `SELECT pg_catalog.pg_drop_replication_slot('${SLOT}')`);
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    const events = jsonEvents(result.stdout);
    expect(events.find((event) => event.type === 'backfill-throttled')).toMatchObject({
      changeId: CHANGE,
      reason: expect.stringContaining(`pg_drop_replication_slot('${SLOT}')`),
    });
    expect(events.find((event) => event.type === 'backfill-resumed')).toBeDefined();
    expect(
      await query(url, `SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS DISTINCT FROM job_title`),
    ).toEqual([{ n: 0 }]);
  }, 240_000);
});
