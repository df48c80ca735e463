import { expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * `ALTER TABLE … ENABLE TRIGGER ALL` after a bulk load leaves phasectl's sync triggers enabled but no longer ALWAYS
 * (tgenabled 'O'): rows written under session_replication_role = replica (a logical-replication subscription) skip
 * them. The gates of phases 2 and 3 refuse that state with the fix, and the verify after the fix finds what such a
 * write left behind.
 */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

const asReplica = (sql: string) => `BEGIN; SET LOCAL session_replication_role = replica; ${sql}; COMMIT`;

const bothColumns = async (url: string, id: number) =>
  await query(url, `SELECT job_title, favourite_color FROM public.users WHERE id = $1`, [id]);

const phaseInDatabase = async (url: string) =>
  (await query<{ phase: number }>(url, `SELECT phase FROM phasectl.changes WHERE id = $1`, [CHANGE]))[0]?.phase;

test('sync triggers enabled again without ALWAYS stop phases 2 and 3 (exit 3, the fix); a replica-role write meanwhile is found and repaired', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, {
    rows: 10,
    releases: ['1.0.0', '1.1.0', '1.2.0'],
  });
  const run = (...args: string[]) => phasectl([...args, '--project', dir, '--quiet'], { env });
  expect((await run('migrate', '--to-release', '1.0.0')).code).toBe(0);

  // A bulk load the usual way, then a row the subscription applies: the trigger no longer fires for it.
  await query(url, `ALTER TABLE public.users DISABLE TRIGGER ALL; ALTER TABLE public.users ENABLE TRIGGER ALL`);
  await query(url, asReplica(`UPDATE public.users SET job_title = 'from the subscription' WHERE id = 3`));
  expect(await bothColumns(url, 3)).toEqual([{ job_title: 'from the subscription', favourite_color: 'title 3' }]);

  const refused = await run('migrate', '--to-release', '1.1.0');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'sync trigger(s) of users-job-title enabled without ALWAYS (as `ENABLE TRIGGER ALL` leaves them): zz_phasectl_sync_users_job_title on public.users',
  );
  expect(refused.stderr).toContain(
    'ALTER TABLE public.users ENABLE ALWAYS TRIGGER "zz_phasectl_sync_users_job_title$insert";',
  );
  expect(refused.stderr).toContain(
    'ALTER TABLE public.users ENABLE ALWAYS TRIGGER "zz_phasectl_sync_users_job_title$copy";',
  );
  expect(await phaseInDatabase(url)).toBe(1);
  const shown = await phasectl(['status', '--project', dir], { env });
  expect(shown.stdout).toContain('drift: sync trigger on public.users enabled without ALWAYS while phase 1 is applied');

  // The fix it names; the verify then finds the row the subscription wrote, and the repair settles it.
  await query(
    url,
    `ALTER TABLE public.users ENABLE ALWAYS TRIGGER zz_phasectl_sync_users_job_title,
       ENABLE ALWAYS TRIGGER "zz_phasectl_sync_users_job_title$insert", ENABLE ALWAYS TRIGGER "zz_phasectl_sync_users_job_title$copy"`,
  );
  const found = await run('migrate', '--to-release', '1.1.0');
  expect(found.code, found.stderr).not.toBe(0);
  expect(found.stderr).toContain('--repair');
  expect((await run('backfill', CHANGE, '--repair')).code).toBe(0);
  const second = await run('migrate', '--to-release', '1.1.0');
  expect(second.code, second.stderr).toBe(0);
  expect(await phaseInDatabase(url)).toBe(2);
  expect(await bothColumns(url, 3)).toEqual([
    { job_title: 'from the subscription', favourite_color: 'from the subscription' },
  ]);

  // In phase 2 the subscription's rows are synced again; ENABLE TRIGGER ALL once more stops phase 3.
  await query(url, asReplica(`UPDATE public.users SET favourite_color = 'replicated in phase 2' WHERE id = 4`));
  expect(await bothColumns(url, 4)).toEqual([
    { job_title: 'replicated in phase 2', favourite_color: 'replicated in phase 2' },
  ]);
  await query(url, `ALTER TABLE public.users ENABLE TRIGGER ALL`);
  const third = await run('migrate');
  expect(third.code, third.stderr).toBe(3);
  expect(third.stderr).toContain('enabled without ALWAYS');
  expect(await phaseInDatabase(url)).toBe(2);
}, 120_000);
