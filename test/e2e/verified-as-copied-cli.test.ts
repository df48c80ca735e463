import { expect, test } from 'vitest';
import { jsonEvents, phasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * `migrate` through the built CLI: phase 1's copy of a same-type rename is verified as it is made
 * (src/backfill/copy-check.ts), so no verification walk follows it, with 1 job or several; phase 2 still walks the
 * table before its switch.
 */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

for (const jobs of ['1', '2']) {
  test(`phase 1 with --jobs ${jobs}: verified as copied, no walk; phase 2 walks before the switch`, async () => {
    const { url, dir, env } = await databaseWithGeneratedProject(cleanups, {
      rows: 3000,
      releases: ['1.0.0', '1.1.0', '1.2.0'],
    });
    const phase1 = await phasectl(
      ['migrate', '--project', dir, '--to-release', '1.0.0', '--jobs', jobs, '--batch-size', '200', '--json'],
      { env },
    );
    expect(phase1.code, phase1.stderr).toBe(0);
    const events = jsonEvents(phase1.stdout);
    expect(events.filter((event) => event.type === 'verify-done')).toEqual([
      { type: 'verify-done', changeId: CHANGE, differing: 0, asCopied: true },
    ]);
    expect(events.some((event) => event.type === 'verify-progress')).toBe(false);
    const recorded = await query<{ differing: string }>(
      url,
      `SELECT differing::text FROM phasectl.verifications WHERE change_id = '${CHANGE}'`,
    );
    expect(recorded).toEqual([{ differing: '0' }]);
    expect(await query(url, `SELECT id FROM public.users WHERE favourite_color IS DISTINCT FROM job_title`)).toEqual(
      [],
    );

    const text = await phasectl(['migrate', '--project', dir, '--to-release', '1.1.0'], { env });
    expect(text.code, text.stderr).toBe(0);
    const phase2 = await phasectl(['status', CHANGE, '--project', dir, '--json'], { env });
    const audit = (JSON.parse(phase2.stdout) as { changes: { audit: { figures: { phase: number }[] } | null }[] })
      .changes[0]!.audit;
    // Phase 2's verify step walked the table (its figures are the first).
    expect(audit?.figures.map((figure) => figure.phase)).toEqual([2]);
  }, 300_000);
}

test('the plain output says how phase 1 was verified', async () => {
  const { dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 500, releases: ['1.0.0'] });
  const phase1 = await phasectl(['migrate', '--project', dir], { env });
  expect(phase1.code, phase1.stderr).toBe(0);
  expect(phase1.stdout).toContain(
    `verify ${CHANGE}: 0 differing row(s), verified as copied (the sync triggers stayed unchanged from the first batch to the last)`,
  );
}, 300_000);
