import { expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * `status` tells the truth about verifications and audit figures: a `phasectl verify` run by hand records its
 * figures (marked as such) for the phase the database is at, and what a rollback made stale is marked stale.
 */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

interface Figure {
  phase: number;
  old: { rows: string };
  new: { rows: string };
  recordedAt: string;
  takenBy?: string;
  rolledBack?: { phase: number; at: string };
}
interface ChangeJson {
  verification: { differing: number; checkedAt: string; rolledBack?: { phase: number; at: string } } | null;
  audit: { figures: Figure[]; mismatches: string[] } | null;
}

async function statusOf(dir: string, env: Record<string, string>): Promise<{ json: ChangeJson; text: string }> {
  const json = await phasectl(['status', CHANGE, '--project', dir, '--json'], { env });
  expect(json.code, json.stderr).toBe(0);
  const text = await phasectl(['status', CHANGE, '--project', dir], { env });
  expect(text.code, text.stderr).toBe(0);
  return { json: (JSON.parse(json.stdout) as { changes: ChangeJson[] }).changes[0]!, text: text.stdout };
}

test('a verify run by hand records its figures, marked, for the phase the database is at', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 40, releases: ['1.0.0'] });
  const migrated = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(migrated.code, migrated.stderr).toBe(0);
  // Phase 1 verified its copy batch by batch (src/backfill/copy-check.ts): a verification, no walk, no figures.
  const before = (await statusOf(dir, env)).json;
  expect(before.audit).toBeNull();
  expect(before.verification).toMatchObject({ differing: 0 });

  // The application writes on; the team verifies by hand.
  await query(url, `INSERT INTO public.users (id, job_title) SELECT g, 'cook' FROM generate_series(41, 45) g`);
  const verified = await phasectl(['verify', CHANGE, '--project', dir], { env });
  expect(verified.code, verified.stderr).toBe(0);
  const { json, text } = await statusOf(dir, env);
  expect(json.audit!.figures).toEqual([
    expect.objectContaining({ phase: 1, new: expect.objectContaining({ rows: '45' }), takenBy: 'phasectl verify' }),
  ]);
  expect(Date.parse(json.verification!.checkedAt)).toBeGreaterThan(Date.parse(before.verification!.checkedAt));
  expect(json.verification).toMatchObject({ differing: 0 });
  expect(json.verification!.rolledBack).toBeUndefined();
  expect(text).toMatch(/ {2}audit phase 1 \([^)]*, by phasectl verify\): old job_title: 45 rows/);
  expect(text).toContain('  audit: the figures match');
}, 300_000);

test('after a rollback, the figures and the verification taken before it are marked stale until taken again', async () => {
  const { dir, env } = await databaseWithGeneratedProject(cleanups, {
    rows: 30,
    releases: ['1.0.0', '1.1.0', '1.2.0'],
  });
  const migrated = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(migrated.code, migrated.stderr).toBe(0);
  const rolledBack = await phasectl(['rollback', '--release', '1.2.0', '--project', dir, '--yes', '--quiet'], { env });
  expect(rolledBack.code, rolledBack.stderr).toBe(0);

  const { json, text } = await statusOf(dir, env);
  const figures = json.audit!.figures;
  // (Phase 1 was verified as copied: no figures of its own.)
  expect(figures.map((figure) => [figure.phase, figure.rolledBack?.phase])).toEqual([
    [2, undefined],
    [3, 3],
  ]);
  expect(json.verification!.rolledBack).toMatchObject({ phase: 3 });
  expect(text).toMatch(/ {2}audit phase 3 \([^)]*\) \[stale: phase 3 was rolled back at [^\]]+\]: old job_title/);
  expect(text).toMatch(
    /verify: 0 differing row\(s\) at \S+ \(before phase 3 was rolled back at \S+: `phasectl verify users-job-title` counts the data now\)/,
  );

  // Verified again by hand: the verification is current, and the figures of phase 2 (where the database is) too.
  const verified = await phasectl(['verify', CHANGE, '--project', dir], { env });
  expect(verified.code, verified.stderr).toBe(0);
  const again = (await statusOf(dir, env)).json;
  expect(again.verification!.rolledBack).toBeUndefined();
  expect(again.audit!.figures.map((figure) => [figure.phase, figure.takenBy, figure.rolledBack?.phase])).toEqual([
    [2, 'phasectl verify', undefined],
    [3, undefined, 3],
  ]);

  // Phase 3 applied again: its walk replaces the stale figures.
  const forward = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(forward.code, forward.stderr).toBe(0);
  const after = (await statusOf(dir, env)).json;
  expect(after.audit!.figures.every((figure) => figure.rolledBack === undefined)).toBe(true);
  expect(after.audit!.mismatches).toEqual([]);
}, 300_000);
