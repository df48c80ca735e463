import { expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';
import { behindSyncTriggers } from '../support/behind-sync-triggers.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/** Issue 18 item 6: `status` shows the last guard refusal of each change (which guard, phase, file, when, message). */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

test('a guard that refuses in migrate is recorded, and status (text and --json) shows it until the next one', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 30, releases: ['1.0.0', '1.1.0'] });
  expect((await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env })).code).toBe(0);
  const clean = await phasectl(['status', '--project', dir], { env });
  expect(clean.stdout).not.toContain('last guard refusal');
  // The backfill's bookkeeping says "not finished": phase 2's guard must refuse the switch.
  await query(url, `UPDATE phasectl.backfills SET finished_at = NULL WHERE change_id = $1`, [CHANGE]);
  const refused = await phasectl(['migrate', '--project', dir], { env });
  expect(refused.code).toBe(3);
  expect(refused.stderr).toContain('cannot switch to phase 2: its backfill has not finished');

  const status = await phasectl(['status', '--project', dir], { env });
  expect(status.code, status.stderr).toBe(0);
  expect(status.stdout).toMatch(
    /\n {2}last guard refusal: \d{4}-\d\d-\d\dT[\d:.]+Z, phase 2, guard backfill-finished in 002_1\.1\.0_users-job-title_p2_\d\d_switch\.up\.sql: change users-job-title cannot switch to phase 2: its backfill has not finished\n/,
  );
  const json = JSON.parse((await phasectl(['status', '--project', dir, '--json'], { env })).stdout) as {
    changes: { lastGuardRefusal: Record<string, unknown> | null }[];
  };
  expect(json.changes[0]!.lastGuardRefusal).toMatchObject({
    guard: 'backfill-finished',
    phase: 2,
    sqlstate: 'P0001',
    file: expect.stringMatching(/_p2_\d\d_switch\.up\.sql$/),
  });

  // The backfill finishes; the next guard wants a verification since then: the newer refusal replaces the first.
  expect((await phasectl(['backfill', CHANGE, '--project', dir, '--quiet'], { env })).code).toBe(0);
  expect((await phasectl(['migrate', '--project', dir, '--quiet'], { env })).code).toBe(3);
  expect((await phasectl(['status', '--project', dir], { env })).stdout).toMatch(
    /last guard refusal: .*, phase 2, guard verified in \S+_switch\.up\.sql: change users-job-title cannot switch to phase 2: no verification since the backfill found 0 differing rows\n/,
  );
  // Fixed and applied: the refusal stays visible as history, marked as overtaken.
  expect((await phasectl(['verify', CHANGE, '--project', dir], { env })).code).toBe(0);
  const applied = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(applied.code, applied.stderr).toBe(0);
  const after = await phasectl(['status', '--project', dir], { env });
  expect(after.stdout).toMatch(/last guard refusal: .*guard verified .*\(phase 2 has been applied since\)/);
}, 300_000);

test('the verify step that finds differing rows before a phase is recorded as the rows-differ guard', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 30, releases: ['1.0.0', '1.1.0'] });
  expect((await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env })).code).toBe(0);
  // A write that bypassed the sync trigger: the copies differ in one row.
  // (ENABLE TRIGGER USER afterwards would leave the sync triggers without ALWAYS, which the gate refuses first.)
  await query(url, behindSyncTriggers(`UPDATE public.users SET favourite_color = 'other' WHERE id = 7`));
  expect((await phasectl(['migrate', '--project', dir, '--quiet'], { env })).code).toBe(3);
  const status = await phasectl(['status', '--project', dir], { env });
  expect(status.stdout).toMatch(
    /last guard refusal: .*, phase 2, guard rows-differ in 002_1\.1\.0_users-job-title_p2_01_verify\.up\.sql: verification of users-job-title found 1 row\(s\) where the two columns differ\n/,
  );
}, 300_000);
