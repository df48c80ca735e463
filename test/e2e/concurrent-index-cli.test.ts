import { expect, test } from 'vitest';
import { phasectl, startPhasectl, type RunningCli } from '../support/cli.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithProject } from '../support/test-project.js';

/**
 * Issue 18 items 1 and 2: phase 1 of a rename builds an index on the new column with CREATE INDEX CONCURRENTLY.
 * Behind an older transaction (a pg_dump: REPEATABLE READ, snapshot held) the build waits, naming that
 * transaction, instead of timing out and rebuilding; a build interrupted there leaves an INVALID index that
 * `status` lists and the next `migrate` drops and rebuilds.
 */
const cleanups = cleanupsAfterAll();

async function project(): Promise<{
  url: string;
  cli: (args: string[]) => ReturnType<typeof phasectl>;
  start: (args: string[]) => RunningCli;
}> {
  const { url, dir, env } = await databaseWithProject(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, email text);
                       CREATE INDEX users_email_idx ON public.users (email);
                       INSERT INTO public.users SELECT g, 'u' || g FROM generate_series(1, 200) g;`,
    'phasectl-cic-',
  );
  const cli = (args: string[]) => phasectl(args, { cwd: dir, env });
  expect((await cli(['plan', 'rename', 'users.email', 'email_address', '--id', 'users-email'])).code).toBe(0);
  expect((await cli(['advance', '--release', '1.0.0'])).code).toBe(0);
  return { url, cli, start: (args) => startPhasectl(args, { cwd: dir, env }) };
}

/** A pg_dump-like transaction: REPEATABLE READ with its snapshot taken, touching no table of ours. */
async function olderTransaction(url: string) {
  const holder = await client(url);
  cleanups.push(() => holder.end());
  await holder.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  return { pid, commit: () => holder.query('COMMIT') };
}

// Waits on a condition: a generous deadline only matters on a loaded machine, where the CLI takes seconds to start.
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('CREATE INDEX CONCURRENTLY behind an older transaction waits, names it, and builds once', async () => {
  const { url, start } = await project();
  const older = await olderTransaction(url);
  const run = start(['migrate']);
  const line = await until('a line naming the older transaction', () =>
    run
      .output()
      .stdout.split('\n')
      .find((l) => l.includes('waiting') && l.includes(`pid ${older.pid} `)),
  );
  expect(line).toMatch(
    /index users_email_address_idx: waiting \d+s for older transactions to finish \(the application is not blocked\): pid \d+ \(user [^,]+, idle in transaction for \d+s\)/,
  );
  await older.commit();
  const done = await run.result;
  expect(done.stderr).toBe('');
  expect(done.code).toBe(0);
  expect(done.stdout).not.toMatch(/retry|dropped invalid index/);
  expect(
    await query(url, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_email_address_idx'::regclass`),
  ).toEqual([{ indisvalid: true }]);
}, 180_000);

test('an interrupted index build is listed by status and rebuilt by the next migrate', async () => {
  const { url, cli, start } = await project();
  const older = await olderTransaction(url);
  const run = start(['migrate']);
  const building = await until('the index build', async () => {
    const rows = await query<{ pid: number }>(
      url,
      `SELECT pid FROM pg_stat_activity WHERE query LIKE 'CREATE INDEX CONCURRENTLY%' AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND datname = current_database()`,
    );
    return rows[0]?.pid;
  });
  await query(url, 'SELECT pg_cancel_backend($1)', [building]);
  const failed = await run.result;
  expect(failed.code).toBe(3);
  await older.commit();
  expect(
    await query(url, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_email_address_idx'::regclass`),
  ).toEqual([{ indisvalid: false }]);

  const shown = await cli(['status']);
  expect(shown.stdout).toContain(
    'invalid index: public.users_email_address_idx (a CREATE INDEX CONCURRENTLY was interrupted or is still running',
  );
  const json = await cli(['status', '--json']);
  expect((JSON.parse(json.stdout) as { changes: { invalidIndexes: string[] }[] }).changes[0]!.invalidIndexes).toEqual([
    'public.users_email_address_idx',
  ]);

  const again = await cli(['migrate']);
  expect(again.stderr).toBe('');
  expect(again.code).toBe(0);
  expect(again.stdout).toContain(
    'dropped invalid index public.users_email_address_idx left by an earlier failed build; rebuilding it',
  );
  expect(
    await query(url, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.users_email_address_idx'::regclass`),
  ).toEqual([{ indisvalid: true }]);
  expect((await cli(['status'])).stdout).not.toContain('invalid index');
}, 180_000);
