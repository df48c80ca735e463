import { beforeAll, describe, expect, test } from 'vitest';
import { jsonEvents, phasectl, startPhasectl, type CliResult } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { applyNamedSteps, waitFor, writeBehindTrigger } from '../support/guard-state.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * `phasectl backfill` (up and down) and `phasectl verify` through the built CLI, and proof that a stopped
 * backfill resumes at its stored key instead of starting over: rows behind the key are made to differ on
 * purpose (behind the trigger) before the resume; a resume leaves them alone, a restart would rewrite them.
 * (`--jobs` does not exist yet, so there is no per-range resume to test.)
 */
const ROWS = 1200;
// 100-row batches with a pause: the walk takes a few seconds, long enough to stop it part-way.
const SLOW = ['--batch-size', '100', '--target-batch-ms', '1', '--pause-ms', '40'];
const cleanups = cleanupsAfterAll();

interface Progress {
  last: number;
  rowsDone: number;
  finished: boolean;
}

async function progress(url: string, changeId: string, direction: 'up' | 'down'): Promise<Progress | undefined> {
  const rows = await query<{ last: string | null; rows_done: string; finished: boolean }>(
    url,
    `SELECT last_key->>0 AS last, rows_done, finished_at IS NOT NULL AS finished FROM phasectl.backfills WHERE change_id = $1 AND direction = $2`,
    [changeId, direction],
  ).catch(() => []);
  const row = rows[0];
  return row && { last: Number(row.last), rowsDone: Number(row.rows_done), finished: row.finished };
}

/** Runs the CLI and sends `signal` once the backfill has committed at least 300 rows. */
async function stopPartWay(
  args: string[],
  url: string,
  changeId: string,
  direction: 'up' | 'down',
  signal: NodeJS.Signals,
): Promise<CliResult> {
  const run = startPhasectl(args, { env: { DATABASE_URL: url } });
  await waitFor('300 backfilled rows', async () => ((await progress(url, changeId, direction))?.rowsDone ?? 0) >= 300);
  run.child.kill(signal);
  return run.result;
}

/** The final JSON line of `phasectl backfill --json` (the result, not an event). */
function backfillResult(stdout: string): Record<string, unknown> | undefined {
  return jsonEvents(stdout).find((line) => line.type === undefined);
}

describe.sequential('rename', () => {
  const CHANGE = 'users-job-title';
  let url: string;
  let dir: string;
  beforeAll(async () => {
    ({ url, dir } = await databaseWithGeneratedProject(cleanups, {
      rows: ROWS,
      releases: ['1.0.0', '1.1.0', '1.2.0'],
    }));
  });
  const differingIds = async () =>
    (
      await query<{ id: string }>(
        url,
        'SELECT id FROM public.users WHERE favourite_color IS DISTINCT FROM job_title ORDER BY id',
      )
    ).map((row) => Number(row.id));

  test('migrate stopped by SIGINT in the backfill; `phasectl backfill` resumes after the stored key', async () => {
    const stopped = await stopPartWay(
      ['migrate', '--project', dir, '--to-release', '1.0.0', ...SLOW],
      url,
      CHANGE,
      'up',
      'SIGINT',
    );
    expect(stopped.code).toBe(130);
    const saved = await progress(url, CHANGE, 'up');
    expect(stopped.stderr).toContain(
      `error: backfill of ${CHANGE} stopped at key id=${saved?.last}; progress is saved`,
    );
    expect(stopped.stderr).toContain(`fix: run \`phasectl backfill ${CHANGE}\` or \`phasectl migrate\` to resume`);
    // Every row up to the key was rewritten once, none after it.
    expect(saved).toMatchObject({ rowsDone: saved?.last, finished: false });
    expect(saved!.last).toBeLessThan(ROWS);
    expect(await query(url, 'SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS NULL')).toEqual([
      { n: ROWS - saved!.last },
    ]);

    await writeBehindTrigger(url, `UPDATE public.users SET favourite_color = 'behind the key' WHERE id <= 10`);
    const resumed = await phasectl(['backfill', CHANGE, '--project', dir, '--json'], { env: { DATABASE_URL: url } });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(jsonEvents(resumed.stdout).find((event) => event.type === 'backfill-start')).toMatchObject({
      resumedFrom: [String(saved!.last)],
      upperKey: [String(ROWS)],
    });
    expect(backfillResult(resumed.stdout)).toEqual({
      changeId: CHANGE,
      direction: 'up',
      rowsUpdated: ROWS - saved!.last,
      rowsDone: ROWS,
      alreadyFinished: false,
      batches: expect.any(Number),
    });
    // The rows behind the key were not walked again: they still differ.
    expect(await differingIds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test('`phasectl verify` counts the differing rows (exit 1, then 0 once repaired); a finished backfill is a no-op', async () => {
    const dirty = await phasectl(['verify', CHANGE, '--project', dir], { env: { DATABASE_URL: url } });
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toBe(`${CHANGE}: 10 differing row(s)\n`);
    expect(dirty.stderr).toContain(
      `fix: run \`phasectl backfill ${CHANGE} --repair\` (it rewrites exactly the rows that differ), then verify again`,
    );
    expect(
      await query(url, 'SELECT differing::int FROM phasectl.verifications WHERE change_id = $1', [CHANGE]),
    ).toEqual([{ differing: 10 }]);

    await writeBehindTrigger(url, `UPDATE public.users SET favourite_color = job_title WHERE id <= 10`);
    const clean = await phasectl(['verify', CHANGE, '--project', dir, '--json'], { env: { DATABASE_URL: url } });
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ differing: 0 });
    const again = await phasectl(['backfill', CHANGE, '--project', dir], { env: { DATABASE_URL: url } });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`backfill ${CHANGE} (up) already finished (${ROWS} rows): nothing to do`);
  });

  test('the down backfill (rollback of phase 3) stopped by SIGTERM resumes after its stored key', async () => {
    const rest = await phasectl(['migrate', '--project', dir, '--quiet'], { env: { DATABASE_URL: url } });
    expect(rest.code, rest.stderr).toBe(0);
    // Phase 3's down, first step: job_title comes back empty (another runner applies it; the backfill is ours).
    await applyNamedSteps(url, dir, CHANGE, 3, ['restore-column'], 'down');
    expect(await query(url, 'SELECT count(*)::int AS n FROM public.users WHERE job_title IS NULL')).toEqual([
      { n: ROWS },
    ]);

    const stopped = await stopPartWay(
      ['backfill', CHANGE, '--project', dir, '--direction', 'down', ...SLOW],
      url,
      CHANGE,
      'down',
      'SIGTERM',
    );
    expect(stopped.code).toBe(143);
    const saved = await progress(url, CHANGE, 'down');
    expect(stopped.stderr).toContain(
      `error: backfill of ${CHANGE} stopped at key id=${saved?.last}; progress is saved`,
    );
    expect(saved).toMatchObject({ rowsDone: saved?.last, finished: false });
    expect(saved!.last).toBeLessThan(ROWS);

    await writeBehindTrigger(url, `UPDATE public.users SET job_title = 'behind the key' WHERE id <= 10`);
    const resumed = await phasectl(['backfill', CHANGE, '--project', dir, '--direction', 'down', '--json'], {
      env: { DATABASE_URL: url },
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(backfillResult(resumed.stdout)).toMatchObject({
      direction: 'down',
      rowsUpdated: ROWS - saved!.last,
      rowsDone: ROWS,
      alreadyFinished: false,
    });
    expect(await differingIds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(
      await query(url, `SELECT count(*)::int AS n FROM public.users WHERE id > 10 AND job_title = favourite_color`),
    ).toEqual([{ n: ROWS - 10 }]);
  });
});

describe.sequential('move', () => {
  const CHANGE = 'users-address';
  let url: string;
  let dir: string;
  beforeAll(async () => {
    ({ url, dir } = await databaseWithGeneratedProject(cleanups, {
      rows: ROWS,
      releases: ['1.0.0', '1.1.0'],
      move: true,
    }));
  });

  test('migrate stopped by SIGINT in the backfill; `phasectl backfill` resumes after the stored key', async () => {
    const stopped = await stopPartWay(
      ['migrate', '--project', dir, '--to-release', '1.0.0', ...SLOW],
      url,
      CHANGE,
      'up',
      'SIGINT',
    );
    expect(stopped.code).toBe(130);
    const saved = await progress(url, CHANGE, 'up');
    expect(stopped.stderr).toContain(
      `error: backfill of ${CHANGE} stopped at key id=${saved?.last}; progress is saved`,
    );
    expect(saved).toMatchObject({ rowsDone: saved?.last, finished: false });
    expect(saved!.last).toBeLessThan(ROWS);

    await writeBehindTrigger(url, `UPDATE public.profiles SET address = 'behind the key' WHERE user_id <= 10`);
    const resumed = await phasectl(['backfill', CHANGE, '--project', dir, '--json'], { env: { DATABASE_URL: url } });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(backfillResult(resumed.stdout)).toMatchObject({
      rowsUpdated: ROWS - saved!.last,
      rowsDone: ROWS,
      alreadyFinished: false,
    });
    const differing = await query<{ id: string }>(
      url,
      'SELECT u.id FROM public.users u JOIN public.profiles p ON p.user_id = u.id WHERE p.address IS DISTINCT FROM u.address ORDER BY u.id',
    );
    expect(differing.map((row) => Number(row.id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  test("`phasectl verify` counts the differing pairs (exit 1) and migrate's phase 2 stops at them", async () => {
    const verified = await phasectl(['verify', CHANGE, '--project', dir], { env: { DATABASE_URL: url } });
    expect(verified.code).toBe(1);
    expect(verified.stdout).toBe(`${CHANGE}: 10 differing row(s)\n`);
    const switched = await phasectl(['migrate', '--project', dir], { env: { DATABASE_URL: url } });
    expect(switched.code).toBe(3);
    expect(switched.stderr).toContain(`verification of ${CHANGE} found 10 row(s)`);
    expect(await query(url, 'SELECT phase FROM phasectl.changes WHERE id = $1', [CHANGE])).toEqual([{ phase: 1 }]);
  });
});
