import { beforeAll, describe, expect, test } from 'vitest';
import { waitForHeldBackfill } from '../support/backfill-pause.js';
import { jsonEvents, phasectl, startPhasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/** `--throttle-query`: the backfill waits while the user's query returns true, says so, and `status` shows it. */
const CHANGE = 'users-job-title';
const ROWS = 2000;
const HOLD = 'SELECT coalesce((SELECT on_hold FROM public.hold), false)';
const cleanups = cleanupsAfterAll();

describe.sequential('phasectl migrate --throttle-query', () => {
  let url: string;
  let dir: string;
  beforeAll(async () => {
    ({ url, dir } = await databaseWithGeneratedProject(cleanups, { rows: ROWS, releases: ['1.0.0'] }));
    await query(url, 'CREATE TABLE public.hold (on_hold boolean NOT NULL); INSERT INTO public.hold VALUES (true)');
  }, 240_000);

  test('a query that is not one boolean SELECT is refused with exit 2, nothing changed', async () => {
    const cases: Array<[string, string]> = [
      ['DELETE FROM public.hold', 'must be a SELECT'],
      ['SELECT true; SELECT false', 'not one SQL statement'],
      ['SELECT 1', 'first column must be a boolean'],
      ['SELECT on_hold FROM hold', 'relation "hold" does not exist'],
      ['SELECT pg_catalog.pg_sleep(6) IS NULL', '--throttle-query fails: canceling statement due to statement timeout'],
    ];
    for (const [sql, message] of cases) {
      const result = await phasectl(['migrate', '--project', dir, '--throttle-query', sql], {
        env: { DATABASE_URL: url },
      });
      expect(result.code, `${sql}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain(message);
    }
    expect(
      await query(url, `SELECT count(*)::int AS n FROM pg_catalog.pg_namespace WHERE nspname = 'phasectl'`),
    ).toEqual([{ n: 0 }]);
    expect(await query(url, `SELECT count(*)::int AS n FROM public.hold`)).toEqual([{ n: 1 }]);
  }, 240_000);

  test('the backfill pauses while the query returns true (status shows it) and resumes when it turns false', async () => {
    const run = startPhasectl(['migrate', '--project', dir, '--jobs', '2', '--throttle-query', HOLD, '--json'], {
      env: { DATABASE_URL: url },
    });
    await waitForHeldBackfill(url, CHANGE);
    const status = await phasectl(['status', '--project', dir], { env: { DATABASE_URL: url } });
    expect(status.stdout).toMatch(/backfill up paused since \S+: the throttle query returned true/);
    const statusJson = await phasectl(['status', '--project', dir, '--json'], { env: { DATABASE_URL: url } });
    expect(JSON.stringify(JSON.parse(statusJson.stdout))).toContain(
      '"pause":{"reason":"the throttle query returned true"',
    );

    await query(url, 'UPDATE public.hold SET on_hold = false');
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    const events = jsonEvents(result.stdout);
    expect(events.find((event) => event.type === 'backfill-throttled')).toMatchObject({
      changeId: CHANGE,
      reason: 'the throttle query returned true',
    });
    expect(events.find((event) => event.type === 'backfill-resumed')).toMatchObject({
      changeId: CHANGE,
      pausedMs: expect.any(Number),
    });
    expect(events.findIndex((event) => event.type === 'backfill-resumed')).toBeLessThan(
      events.findIndex((event) => event.type === 'backfill-progress'),
    );
    expect(
      await query(url, `SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS DISTINCT FROM job_title`),
    ).toEqual([{ n: 0 }]);
    expect(await query(url, `SELECT count(*)::int AS n FROM phasectl.backfill_pauses`)).toEqual([{ n: 0 }]);
  }, 240_000);
});
