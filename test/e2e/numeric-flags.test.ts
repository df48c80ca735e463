import { beforeAll, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { backfill, verify } from '../../src/commands/backfill.js';
import { migrate } from '../../src/commands/migrate.js';
import { rollback } from '../../src/commands/rollback.js';
import { runCli } from '../support/cli-process.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * Issue 17 item 14: `--lock-timeout 0` meant no timeout at all (an application SELECT queued 23 s behind the
 * DDL) and `--batch-size 0` failed after the expand was applied. Every numeric flag has bounds, checked before
 * anything runs: exit 2, the flag and its range named, the database untouched. The library options too.
 */

let url: string;
let dir: string;
const cleanups = cleanupsAfterAll();
beforeAll(async () => {
  ({ url, dir } = await databaseWithGeneratedProject(cleanups, { rows: 500, releases: ['1.0.0'] }));
});

/** Nothing ran: no state schema, no new column. */
async function untouched(): Promise<void> {
  expect(await query(url, `SELECT to_regnamespace('phasectl') AS s`)).toEqual([{ s: null }]);
  expect(
    await query(
      url,
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'favourite_color'`,
    ),
  ).toEqual([{ n: 0 }]);
}

test('out-of-range values are refused by the CLI before anything runs (exit 2, flag and range named)', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['migrate', '--lock-timeout', '0'], /--lock-timeout 0 is out of range: must be between 1 and 600000 ms/],
    [['migrate', '--lock-timeout', '600001'], /--lock-timeout 600001 is out of range/],
    [['migrate', '--batch-size', '0'], /--batch-size 0 is out of range: must be between 1 and 1000000 rows/],
    [['migrate', '--target-batch-ms', '0'], /--target-batch-ms 0 is out of range/],
    [['migrate', '--pause-ms', '-5'], /--pause-ms -5 is out of range/],
    [['migrate', '--retry-for', '86401'], /--retry-for 86401 is out of range/],
    [['migrate', '--wait-lock', '1e3'], /--wait-lock 1e3 is out of range: must be a whole number/],
    [['rollback', '--release', '1.0.0', '--lock-timeout', '0'], /--lock-timeout 0 is out of range/],
    [['backfill', 'users-job-title', '--batch-size', '0'], /--batch-size 0 is out of range/],
    [['verify', 'users-job-title', '--batch-size', '0'], /--batch-size 0 is out of range/],
  ];
  const results = [];
  for (let i = 0; i < cases.length; i += 5) {
    results.push(
      ...(await Promise.all(
        cases.slice(i, i + 5).map(([args]) => runCli([...args, '--project', dir], { DATABASE_URL: url })),
      )),
    );
  }
  for (const [index, [args, message]] of cases.entries()) {
    const result = results[index]!;
    expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/fix: give --[a-z-]+ a whole number in \d+–\d+ /);
  }
  await untouched();
}, 120_000);

test('the library API refuses the same values before connecting', async () => {
  const refusals = [
    migrate({ databaseUrl: url, projectDir: dir, lockTimeoutMs: 0 }),
    migrate({ databaseUrl: url, projectDir: dir, backfill: { batchSize: 0 } }),
    migrate({ databaseUrl: url, projectDir: dir, retryForSeconds: -1 }),
    rollback({ databaseUrl: url, projectDir: dir, release: '1.0.0', waitLockSeconds: 1.5 }),
    backfill({ databaseUrl: url, projectDir: dir, changeId: 'users-job-title', targetBatchMs: 0 }),
    verify({ databaseUrl: url, projectDir: dir, changeId: 'users-job-title', batchSize: 0 }),
  ];
  for (const refusal of refusals) {
    const error = await refusal.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toMatch(
      /^(lockTimeoutMs|batchSize|retryForSeconds|waitLockSeconds|targetBatchMs) \S+ must be/,
    );
  }
  await untouched();
});

test('the limits themselves are accepted: migrate runs', async () => {
  const result = await runCli(
    [
      'migrate',
      '--project',
      dir,
      '--lock-timeout',
      '600000',
      '--retry-for',
      '0',
      '--wait-lock',
      '0',
      '--batch-size',
      '1',
      '--target-batch-ms',
      '60000',
      '--pause-ms',
      '0',
    ],
    { DATABASE_URL: url },
  );
  expect(result.code, result.stderr).toBe(0);
  expect(
    await query(url, `SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS DISTINCT FROM job_title`),
  ).toEqual([{ n: 0 }]);
}, 120_000);
