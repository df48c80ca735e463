import { beforeAll, describe, expect, test } from 'vitest';
import { jsonEvents, phasectl, startPhasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { waitFor, writeBehindTrigger } from '../support/guard-state.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * `--jobs N` through the built CLI: the key space cut into stored ranges, each walked by its own connection with
 * its own progress row; a kill -9 in the middle and a resume that continues every range at its key, rewriting each
 * row about once; verify in parallel; bad values refused before anything runs.
 */
const CHANGE = 'users-job-title';
const ROWS = 6000;
// Small, paced batches: the walk takes seconds, long enough to kill it with every worker part-way.
const SLOW = ['--batch-size', '100', '--target-batch-ms', '1', '--pause-ms', '30'];
const cleanups = cleanupsAfterAll();

interface RangeRow {
  range_no: number;
  after: string | null;
  upper: string;
  last: string | null;
  rows_done: string;
  finished: boolean;
}

async function ranges(url: string): Promise<RangeRow[]> {
  return query<RangeRow>(
    url,
    `SELECT range_no, after_key->>0 AS after, upper_key->>0 AS upper, last_key->>0 AS last, rows_done, finished_at IS NOT NULL AS finished
       FROM phasectl.backfill_ranges WHERE change_id = $1 AND direction = 'up' ORDER BY range_no`,
    [CHANGE],
  ).catch(() => []);
}

describe.sequential('phasectl migrate/backfill/verify --jobs', () => {
  let url: string;
  let dir: string;
  beforeAll(async () => {
    ({ url, dir } = await databaseWithGeneratedProject(cleanups, { rows: ROWS, releases: ['1.0.0'] }));
    // Counts the rows every committed UPDATE statement wrote (a statement trigger over the transition table).
    await query(
      url,
      `CREATE TABLE public.row_updates (n bigint NOT NULL);
      INSERT INTO public.row_updates VALUES (0);
      CREATE FUNCTION public.count_row_updates() RETURNS trigger LANGUAGE plpgsql SET search_path = public AS $$
      BEGIN UPDATE public.row_updates SET n = n + (SELECT count(*) FROM changed); RETURN NULL; END $$;
      CREATE TRIGGER count_row_updates AFTER UPDATE ON public.users REFERENCING NEW TABLE AS changed
        FOR EACH STATEMENT EXECUTE FUNCTION public.count_row_updates();`,
    );
  }, 240_000);

  test('bad --jobs values are refused (exit 2) before anything runs', async () => {
    for (const [command, value] of [
      ['migrate', '0'],
      ['migrate', '65'],
      ['backfill', 'two'],
      ['backfill', '1.5'],
      ['verify', '-1'],
    ] as const) {
      const args =
        command === 'migrate'
          ? ['migrate', '--project', dir, '--jobs', value]
          : [command, CHANGE, '--project', dir, '--jobs', value];
      const result = await phasectl(args, { env: { DATABASE_URL: url } });
      expect(result.code, `${command} --jobs ${value}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toContain('--jobs');
      expect(result.stderr).toContain('1–64 jobs');
    }
    expect(
      await query(url, `SELECT count(*)::int AS n FROM pg_catalog.pg_namespace WHERE nspname = 'phasectl'`),
    ).toEqual([{ n: 0 }]);
  }, 240_000);

  test('kill -9 of a --jobs 3 migrate, then a resume: every range continues at its key, each row rewritten about once, 0 differing', async () => {
    const run = startPhasectl(['migrate', '--project', dir, '--jobs', '3', ...SLOW], { env: { DATABASE_URL: url } });
    await waitFor(
      'three ranges each part-way',
      async () => {
        const rows = await ranges(url);
        return rows.length === 3 && rows.every((row) => Number(row.rows_done) >= 200);
      },
      60_000,
    );
    run.child.kill('SIGKILL');
    await run.result;
    // The killed backends' open batches roll back when their sockets close.
    await waitFor(
      'the killed workers gone',
      async () =>
        (
          await query<{ n: number }>(
            url,
            `SELECT count(*)::int AS n FROM pg_catalog.pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'phasectl%'`,
          )
        )[0]!.n === 0,
    );

    const saved = await ranges(url);
    // Cut by value: (null, 2000], (2000, 4000], (4000, 6000]; each stopped inside its own range.
    expect(saved.map((row) => [row.after, row.upper])).toEqual([
      [null, '2000'],
      ['2000', '4000'],
      ['4000', '6000'],
    ]);
    for (const row of saved) {
      expect(row.finished).toBe(false);
      expect(Number(row.last)).toBeLessThan(Number(row.upper));
      // Every row of the range up to its key was rewritten, none after it.
      const from = Number(row.after ?? 0);
      expect(Number(row.rows_done)).toBe(Number(row.last) - from);
      const unfilled = await query<{ n: number }>(
        url,
        `SELECT count(*)::int AS n FROM public.users WHERE id > $1 AND id <= $2 AND favourite_color IS NULL`,
        [from, Number(row.upper)],
      );
      expect(unfilled).toEqual([{ n: Number(row.upper) - Number(row.last) }]);
    }
    // Behind each range's key, a row is made to differ on purpose (behind the trigger): a resume leaves it alone,
    // a restart of the range would rewrite it.
    const behind = saved.map((row) => Number(row.after ?? 0) + 1);
    await writeBehindTrigger(
      url,
      `UPDATE public.users SET favourite_color = 'behind the key' WHERE id = ANY('{${behind.join(',')}}'::bigint[])`,
    );

    const status = await phasectl(['status', '--project', dir], { env: { DATABASE_URL: url } });
    expect(status.stdout).toContain('0/3 key ranges done');

    const resumed = await phasectl(['migrate', '--project', dir, '--jobs', '3', '--json'], {
      env: { DATABASE_URL: url },
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    const progress = jsonEvents(resumed.stdout).filter((event) => event.type === 'backfill-progress');
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.every((event) => event.jobs === 3)).toBe(true);
    expect(jsonEvents(resumed.stdout).find((event) => event.type === 'backfill-done')).toMatchObject({
      rowsDone: ROWS,
      alreadyFinished: false,
    });
    // Finished: the ranges are folded into the change's row, which phase 2's guard reads.
    expect(await ranges(url)).toEqual([]);
    expect(
      await query(
        url,
        `SELECT rows_done::int AS n, finished_at IS NOT NULL AS finished FROM phasectl.backfills WHERE change_id = $1`,
        [CHANGE],
      ),
    ).toEqual([{ n: ROWS, finished: true }]);
    const differing = async () =>
      (
        await query<{ id: string }>(
          url,
          'SELECT id FROM public.users WHERE favourite_color IS DISTINCT FROM job_title ORDER BY id',
        )
      ).map((row) => Number(row.id));
    expect(await differing()).toEqual(behind);

    // Rows written by the killed run's committed batches and the resume, over all: each about once.
    const updates = Number((await query<{ n: string }>(url, 'SELECT n FROM public.row_updates'))[0]!.n);
    expect(updates / ROWS).toBeLessThanOrEqual(1.05);
    expect(updates).toBeGreaterThanOrEqual(ROWS - behind.length);

    // verify in parallel finds exactly those rows; the repair rewrites them; verify finds none.
    const dirty = await phasectl(['verify', CHANGE, '--project', dir, '--jobs', '3', '--json'], {
      env: { DATABASE_URL: url },
    });
    expect(dirty.code).toBe(1);
    expect(JSON.parse(dirty.stdout)).toMatchObject({ differing: 3 });
    const repaired = await phasectl(['backfill', CHANGE, '--project', dir, '--jobs', '3', '--repair', '--quiet'], {
      env: { DATABASE_URL: url },
    });
    expect(repaired.code, repaired.stderr).toBe(0);
    const clean = await phasectl(['verify', CHANGE, '--project', dir, '--jobs', '3', '--json'], {
      env: { DATABASE_URL: url },
    });
    expect(clean.code, clean.stderr).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({ differing: 0 });
    expect(await differing()).toEqual([]);
  }, 240_000);
});
