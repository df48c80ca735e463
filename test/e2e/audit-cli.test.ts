import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import { planRename } from '../../src/commands/plan.js';
import { phasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject, databaseWithProject } from '../support/test-project.js';
import { behindSyncTriggers } from '../support/behind-sync-triggers.js';

/**
 * Issue 15, audit: each phase's verification walk records row count, non-NULL count and an order-independent
 * checksum of the old and new column; `status <id>` (text and --json) shows them and says when they differ.
 */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

interface Figures {
  rows: string;
  nonNull: string;
  checksum: string;
}
interface AuditJson {
  figures: { phase: number; checksumKind: string; old: Figures; new: Figures }[];
  mismatches: string[];
  caveat: string;
}

async function auditOf(dir: string, env: Record<string, string>, id = CHANGE): Promise<AuditJson | null> {
  const result = await phasectl(['status', id, '--project', dir, '--json'], { env });
  expect(result.code, result.stderr).toBe(0);
  const report = JSON.parse(result.stdout) as { changes: { id: string; audit: AuditJson | null }[] };
  expect(report.changes.map((change) => change.id)).toEqual([id]);
  return report.changes[0]!.audit;
}

/** The checksum of a column computed here in one statement, independently of phasectl's batches. */
async function checksumOf(url: string, table: string, column: string): Promise<Figures> {
  const rows = await query<{ rows: string; non_null: string; checksum: string | null }>(
    url,
    `SELECT count(*)::text AS rows, count(${column})::text AS non_null,
            sum(hashtextextended(${column}::text COLLATE "C", 0))::text AS checksum FROM ${table}`,
  );
  const row = rows[0]!;
  return { rows: row.rows, nonNull: row.non_null, checksum: row.checksum ?? '0' };
}

test('figures: none after a phase 1 verified as copied, then by `phasectl verify` and the walks of phases 2 and 3, equal without writes', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, {
    rows: 40,
    releases: ['1.0.0', '1.1.0', '1.2.0'],
  });
  // Some NULL-free values that repeat, so the checksum is more than a count.
  const expected = await checksumOf(url, 'public.users', 'job_title');
  const phase1 = await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env });
  expect(phase1.code, phase1.stderr).toBe(0);

  // Phase 1 verified its copy batch by batch (src/backfill/copy-check.ts): no walk, so no figures yet.
  expect((await auditOf(dir, env))?.figures ?? []).toEqual([]);
  const verified = await phasectl(['verify', CHANGE, '--project', dir], { env });
  expect(verified.code, verified.stderr).toBe(0);
  const afterPhase1 = await auditOf(dir, env);
  expect(afterPhase1?.figures).toEqual([
    {
      phase: 1,
      checksumKind: 'hashtextextended-c',
      old: expected,
      new: expected,
      recordedAt: expect.any(String),
      takenBy: 'phasectl verify',
    },
  ]);
  expect(afterPhase1?.mismatches).toEqual([]);
  const text = await phasectl(['status', CHANGE, '--project', dir], { env });
  expect(text.code, text.stderr).toBe(0);
  expect(text.stdout).toContain(`  audit phase 1 (`);
  expect(text.stdout).toContain(
    `old job_title: 40 rows, 40 non-NULL, checksum ${expected.checksum}; new favourite_color: 40 rows, 40 non-NULL, checksum ${expected.checksum}`,
  );
  expect(text.stdout).toContain('  audit: the figures match\n');
  expect(text.stdout).toContain(
    '  audit note: The figures are taken by batched passes while the application may write',
  );

  const rest = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(rest.code, rest.stderr).toBe(0);
  const afterPhase3 = await auditOf(dir, env);
  expect(afterPhase3?.figures.map((figure) => figure.phase)).toEqual([1, 2, 3]);
  expect(afterPhase3?.figures[2]).toMatchObject({ old: expected, new: expected });
  expect(afterPhase3?.mismatches).toEqual([]);
  // The figures describe the column as it is after the contract.
  expect(await checksumOf(url, 'public.users', 'favourite_color')).toEqual(expected);

  const unknown = await phasectl(['status', 'no-such-change', '--project', dir], { env });
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('phases.yaml has no change no-such-change');
}, 300_000);

test('a value changed with the sync trigger bypassed shows as a mismatch in phase 3', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, {
    rows: 30,
    releases: ['1.0.0', '1.1.0', '1.2.0'],
  });
  expect((await phasectl(['migrate', '--project', dir, '--to-release', '1.1.0', '--quiet'], { env })).code).toBe(0);
  // A write that no trigger sees: the new column changes, the old one keeps its value.
  await query(url, behindSyncTriggers(`UPDATE public.users SET favourite_color = 'planted' WHERE id = 7`));
  const refused = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(refused.code).toBe(3);

  const audit = await auditOf(dir, env);
  // Phase 1 was verified as copied (no walk, no figures): phase 2's walk gives the first figures.
  expect(audit?.figures.map((figure) => figure.phase)).toEqual([2, 3]);
  const phase3 = audit!.figures[1]!;
  expect(phase3.old.rows).toBe('30');
  expect(phase3.new.rows).toBe('30');
  expect(phase3.new.checksum).not.toBe(phase3.old.checksum);
  expect(audit?.mismatches).toEqual([
    expect.stringMatching(
      /^phase 3: the old column \(30 rows, 30 non-NULL, checksum \d+\) and the new column .* differ in one pass/,
    ),
    expect.stringMatching(
      /^the new column after phase 2 .* and after phase 3 .* differ: expected if the application wrote/,
    ),
  ]);
  const text = await phasectl(['status', CHANGE, '--project', dir], { env });
  expect(text.stdout).toMatch(
    /\n {2}audit mismatch: phase 3: the old column .* differ in one pass; .*phasectl backfill users-job-title --repair/,
  );
  expect(text.stdout).not.toContain('the figures match');
}, 300_000);

test('figures an earlier phasectl recorded (md5 checksums, no checksum_kind column) stay readable and are not called a mismatch', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, {
    rows: 20,
    releases: ['1.0.0', '1.1.0', '1.2.0'],
  });
  expect((await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env })).code).toBe(0);
  // Phase 1 verified as copied, without figures: a verification by hand records them.
  expect((await phasectl(['verify', CHANGE, '--project', dir], { env })).code).toBe(0);
  // The table as the earlier version left it: no checksum_kind, phase 1's checksums from the md5 prefix.
  const md5 = `sum(('x' || substr(md5(job_title::text), 1, 15))::bit(60)::bigint)`;
  await query(
    url,
    `ALTER TABLE phasectl.audit_figures DROP COLUMN checksum_kind;
     UPDATE phasectl.audit_figures SET old_checksum = (SELECT ${md5} FROM public.users),
       new_checksum = (SELECT ${md5} FROM public.users) WHERE phase = 1`,
  );
  const before = await auditOf(dir, env);
  expect(before?.figures).toMatchObject([{ phase: 1, checksumKind: 'md5-60' }]);
  expect(before?.mismatches).toEqual([]);

  const rest = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(rest.code, rest.stderr).toBe(0);
  const after = await auditOf(dir, env);
  expect(after?.figures.map((figure) => [figure.phase, figure.checksumKind])).toEqual([
    [1, 'md5-60'],
    [2, 'hashtextextended-c'],
    [3, 'hashtextextended-c'],
  ]);
  expect(after!.figures[0]!.new.checksum).not.toBe(after!.figures[2]!.new.checksum);
  expect(after?.mismatches).toEqual([]);
}, 300_000);

test('a move records the figures of the source column and the target column', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 25, releases: ['1.0.0'], move: true });
  await query(url, `UPDATE public.users SET address = NULL WHERE id % 5 = 0`);
  const expected = await checksumOf(url, 'public.users', 'address');
  expect(expected.nonNull).toBe('20');
  const migrated = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(migrated.code, migrated.stderr).toBe(0);
  const audit = await auditOf(dir, env, 'users-address');
  expect(audit?.figures).toMatchObject([{ phase: 1, old: expected, new: expected }]);
  expect(audit?.mismatches).toEqual([]);
}, 300_000);

test('a type change compares the old column converted with `up` to the new column: numeric → bigint cents', async () => {
  const { url, dir, env } = await databaseWithProject(
    cleanups,
    `CREATE TABLE public.orders (id bigint PRIMARY KEY, amount numeric(12,2));
     INSERT INTO public.orders SELECT g, CASE WHEN g % 7 = 0 THEN NULL ELSE g * 1.25 END FROM generate_series(1, 50) g;`,
    'phasectl-audit-types-',
  );
  await mkdir(join(dir, 'db', 'migrations'), { recursive: true });
  await planRename({
    projectDir: dir,
    target: 'orders.amount',
    newName: 'amount_cents',
    id: 'orders-cents',
    type: 'bigint',
    up: 'round(amount * 100)::bigint',
    down: 'amount_cents / 100.0',
    databaseUrl: url,
  });
  await advance({ projectDir: dir, release: '1.0.0' });
  const expected = await checksumOf(url, 'public.orders', 'round(amount * 100)::bigint');
  expect(expected.nonNull).toBe('43');
  const migrated = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(migrated.code, migrated.stderr).toBe(0);
  const audit = await auditOf(dir, env, 'orders-cents');
  expect(audit?.figures).toMatchObject([{ phase: 1, old: expected, new: expected }]);
  expect(audit?.mismatches).toEqual([]);
}, 300_000);
