import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { checksum } from '../../src/generate/checksum.js';
import { generatedFiles } from '../../src/generate/files.js';
import { migrationFileName, parseHeader, renderHeader } from '../../src/migration-file/header.js';
import { compareGeneratedFiles, writeGeneratedFiles } from '../../src/generate/write.js';
import { phaseSteps } from '../../src/operations/index.js';
import type { PhasesFile } from '../../src/spec/types.js';
import { usersJobTitleRename } from '../support/fixtures-changes.js';

const change = usersJobTitleRename({ releases: { phase1: '1.4.0', phase2: '1.5.0' } });
const spec: PhasesFile = {
  version: 1,
  releases: ['1.4.0', '1.5.0'],
  migrations: { format: 'sql' },
  check: { sourceGlobs: [], ignoreGlobs: [] },
  changes: [change],
};

test('every phase in the ledger gets its files, named and sorted by path', () => {
  const paths = generatedFiles(spec).map((file) => file.path);
  expect(paths).toEqual([
    'db/functions/users-job-title_v01.sql',
    'db/functions/users-job-title_v02.sql',
    'db/migrations/001_1.4.0_users-job-title_p1_01_drop-constraints.down.sql',
    'db/migrations/001_1.4.0_users-job-title_p1_01_expand.up.sql',
    'db/migrations/001_1.4.0_users-job-title_p1_02_backfill.up.sql',
    'db/migrations/001_1.4.0_users-job-title_p1_02_drop-indexes.down.sql',
    'db/migrations/001_1.4.0_users-job-title_p1_03_indexes.up.sql',
    'db/migrations/001_1.4.0_users-job-title_p1_03_shrink.down.sql',
    'db/migrations/001_1.4.0_users-job-title_p1_04_constraints.up.sql',
    'db/migrations/001_1.4.0_users-job-title_p1_05_validate.up.sql',
    'db/migrations/002_1.5.0_users-job-title_p2_01_switch-back.down.sql',
    'db/migrations/002_1.5.0_users-job-title_p2_01_verify.up.sql',
    'db/migrations/002_1.5.0_users-job-title_p2_02_switch.up.sql',
    'db/triggers/users-job-title.sql',
  ]);
});

test('generation is deterministic, ends every file with one newline and uses only \\n', () => {
  const first = generatedFiles(spec);
  const second = generatedFiles(structuredClone(spec));
  expect(second).toEqual(first);
  for (const file of first) {
    expect(file.content.endsWith('\n') && !file.content.endsWith('\n\n')).toBe(true);
    expect(file.content).not.toContain('\r');
  }
});

test('the header round-trips, and the function file is the text the migration embeds', () => {
  const files = generatedFiles(spec);
  const expand = files.find((file) => file.path.endsWith('_expand.up.sql'));
  expect(parseHeader(expand?.content ?? '')).toEqual({
    changeId: 'users-job-title',
    phase: 1,
    direction: 'up',
    order: 1,
    name: 'expand',
    release: '1.4.0',
    transaction: true,
    action: 'sql',
  });
  const backfill = phaseSteps(change, 1).up[1];
  expect(backfill && parseHeader(renderHeader(backfill, '1.4.0'))).toMatchObject({
    transaction: false,
    action: 'backfill',
    order: 2,
  });
  expect(backfill && migrationFileName(12, '1.4.0', backfill)).toBe('012_1.4.0_users-job-title_p1_02_backfill.up.sql');
  const v01 = files.find((file) => file.path.endsWith('_v01.sql'))?.content ?? '';
  const functionSql = v01.slice(v01.indexOf('-- Sync function'));
  expect(expand?.content).toContain(functionSql.trimEnd());
  expect(parseHeader('-- not a header')).toBeUndefined();
});

test('a release missing from the releases list is an input error', () => {
  expect(() => generatedFiles({ ...spec, releases: ['1.4.0'] })).toThrow(/1\.5\.0.*not in the releases list/);
});

test('backfill plan SQL is quoted and ranged on the key', () => {
  const plan = phaseSteps({ ...change, key: { columns: ['tenant', 'id'], types: ['integer', 'bigint'] } }, 1).up[1]
    ?.backfill;
  expect(plan?.updateSql).toBe(
    'UPDATE "public"."users" AS t SET "favourite_color" = t."job_title" WHERE (t."tenant", t."id") >= (CAST($1 AS integer), CAST($2 AS bigint)) AND (t."tenant", t."id") <= (CAST($3 AS integer), CAST($4 AS bigint)) AND NOT ((t."favourite_color") IS NULL AND (t."job_title") IS NULL OR ((t."favourite_color") COLLATE pg_catalog."C" OPERATOR(pg_catalog.=) (t."job_title") COLLATE pg_catalog."C") IS TRUE)',
  );
  expect(plan?.countDifferentSql).toMatch(
    /^SELECT pg_catalog\.count\(\*\)::bigint AS differing FROM "public"."users" AS t WHERE/,
  );
  expect(plan?.suppressSetting).toBe('phasectl.backfill');
});

test('input errors name the change and say what to do', () => {
  expect(() => phaseSteps({ ...change, key: { columns: [], types: [] } }, 1)).toThrow(/users-job-title.*no key/);
  expect(() => phaseSteps({ ...change, key: { columns: ['job_title'], types: ['text'] } }, 1)).toThrow(/key/);
  expect(() => phaseSteps({ ...change, rename: { ...change.rename, type: 'bigint', up: '42' } }, 1)).toThrow(
    /does not use the column job_title/,
  );
});

test('write then compare: unchanged, changed, missing, unexpected', async () => {
  const root = mkdtempSync(join(tmpdir(), 'phasectl-generate-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  const files = generatedFiles(spec);
  expect((await writeGeneratedFiles(root, files)).written).toHaveLength(files.length);
  expect((await writeGeneratedFiles(root, files)).unchanged).toHaveLength(files.length);
  const [edited, , removed] = files;
  writeFileSync(join(root, edited!.path), 'edited');
  rmSync(join(root, removed!.path));
  writeFileSync(join(root, 'db/migrations/009_9.9.9_gone_p1_01_expand.up.sql'), '-- stale');
  writeFileSync(join(root, 'db/migrations/hand-written.sql'), 'SELECT 1;');
  expect(await compareGeneratedFiles(root, files)).toEqual({
    changed: [edited!.path],
    missing: [removed!.path],
    unexpected: ['db/migrations/009_9.9.9_gone_p1_01_expand.up.sql'],
  });
  expect(checksum(readFileSync(join(root, files[1]!.path), 'utf8'))).toMatch(/^[0-9a-f]{64}$/);
});
