import { beforeAll, describe, expect, test } from 'vitest';
import { waitForHeldBackfill } from '../support/backfill-pause.js';
import { waitFor } from '../support/guard-state.js';
import { jsonEvents, phasectl, startPhasectl } from '../support/cli.js';
import { generatedProject } from '../support/fixtures-generated.js';
import { query } from '../support/fixtures-project.js';
import { once, serverBinaries, startStreamingPair, type StreamingPair } from '../support/streaming-replica.js';
import { cleanupsAfterAll } from '../support/test-project.js';

/**
 * `--max-replication-lag` against a real physical streaming replica: with the replica's replay paused the primary's
 * pg_stat_replication.replay_lag grows past the limit and the backfill waits (status shows why); once replay
 * resumes and the replica catches up, the backfill goes on and finishes.
 */
const CHANGE = 'users-job-title';
const ROWS = 2000;
const binaries = await serverBinaries();
if (binaries.skipReason) process.stderr.write(`replica-lag-throttle: skipped: ${binaries.skipReason}\n`);
const cleanups = cleanupsAfterAll();

describe.skipIf(binaries.skipReason !== undefined).sequential('phasectl migrate --max-replication-lag', () => {
  let pair: StreamingPair;
  let dir: string;
  beforeAll(async () => {
    pair = await startStreamingPair(binaries.bin!);
    cleanups.push(pair.stop);
    const project = await generatedProject(pair.primaryUrl, { rows: ROWS, releases: ['1.0.0'] });
    cleanups.push(project.remove);
    dir = project.dir;
  }, 120_000);

  test('pauses new batches while the replica lags beyond the limit, resumes when it has caught up', async () => {
    const url = pair.primaryUrl;
    await once(pair.replicaUrl, 'SELECT pg_catalog.pg_wal_replay_pause()');
    // WAL the paused replica cannot replay: its replay_lag grows from here. It is measured from the replica's replies,
    // so wait until the primary reports it past the limit: on a fast machine the whole backfill (2 batches) would
    // otherwise be done before the first report.
    await query(url, 'CREATE TABLE public.wal_filler AS SELECT g FROM generate_series(1, 1000) g');
    await waitFor(
      'the replica to lag past the limit',
      async () => {
        await query(url, 'INSERT INTO public.wal_filler VALUES (0)');
        const [row] = await query<{ lag: number | null }>(
          url,
          `SELECT max(pg_catalog.date_part('epoch', replay_lag))::float8 AS lag FROM pg_catalog.pg_stat_replication`,
        );
        return (row?.lag ?? 0) > 1.5;
      },
      60_000,
    );
    const run = startPhasectl(['migrate', '--project', dir, '--max-replication-lag', '1', '--json'], {
      env: { DATABASE_URL: url },
    });
    await waitForHeldBackfill(url, CHANGE);
    const status = await phasectl(['status', '--project', dir], { env: { DATABASE_URL: url } });
    expect(status.stdout).toMatch(
      /backfill up paused since \S+: replica test-replica \(127\.0\.0\.1\) replays \d+\.\d s behind \(limit 1 s\)/,
    );

    await once(pair.replicaUrl, 'SELECT pg_catalog.pg_wal_replay_resume()');
    const result = await run.result;
    expect(result.code, result.stderr).toBe(0);
    const events = jsonEvents(result.stdout);
    expect(events.find((event) => event.type === 'backfill-throttled')).toMatchObject({
      changeId: CHANGE,
      reason: expect.stringMatching(/^replica test-replica .* behind \(limit 1 s\)$/),
    });
    expect(events.find((event) => event.type === 'backfill-resumed')).toBeDefined();
    expect(
      await query(url, `SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS DISTINCT FROM job_title`),
    ).toEqual([{ n: 0 }]);
  }, 180_000);
});
