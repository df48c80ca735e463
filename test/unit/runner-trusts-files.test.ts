import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import { initialPhasesText } from '../../src/commands/init.js';
import { loadCheckedPhases } from '../../src/commands/load-project.js';
import { planRename } from '../../src/commands/plan.js';
import { readEmbeddedPlan } from '../../src/generate/embedded-plan.js';
import { readMigrationFiles, type MigrationFile } from '../../src/runner/migration-files.js';
import { planResolver } from '../../src/runner/plan-resolver.js';
import { requireGeneratedMigrations } from '../../src/runner/shipped-files.js';

/** Issue 17 item 7, without a database: the plan a backfill file runs comes from the file, tied to its content. */
const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function project(): Promise<{ dir: string; phasesFile: string; files: () => Promise<MigrationFile[]> }> {
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-trust-unit-'));
  dirs.push(dir);
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText());
  await planRename({
    projectDir: dir,
    target: 'public.accounts.login',
    newName: 'username',
    id: 'accounts-login',
    type: 'text',
    key: 'id:bigint',
  });
  await advance({ projectDir: dir, release: '1.0.0' });
  return { dir, phasesFile: join(dir, 'phases.yaml'), files: () => readMigrationFiles(join(dir, 'db', 'migrations')) };
}

const backfillOf = (files: MigrationFile[]) => files.find((file) => file.header?.action === 'backfill')!;
const withoutPlanLine = (file: MigrationFile): MigrationFile => ({
  ...file,
  content: file.content.replace(/\n-- What phasectl's runner executes[^\n]*\n-- phasectl plan [^\n]*\n$/, ''),
});

test('a backfill file carries its plan; the runner uses it even after phases.yaml swapped from and to', async () => {
  const { dir, phasesFile, files } = await project();
  const backfill = backfillOf(await files());
  const embedded = readEmbeddedPlan(backfill.content, backfill.header!, backfill.name);
  expect(embedded?.updateSql).toMatch(/^UPDATE "public"."accounts" AS t SET "username" = t."login" /);
  requireGeneratedMigrations(await loadCheckedPhases(dir), await files());

  // An older file without the plan line: the plan from phases.yaml, since phases.yaml still renders exactly that file.
  const old = withoutPlanLine(backfill);
  expect(old.content).not.toContain('-- phasectl plan ');
  expect(await planResolver(phasesFile)(old)).toEqual(embedded);

  const text = await readFile(phasesFile, 'utf8');
  await writeFile(phasesFile, text.replace('from: login', 'from: username').replace('to: username', 'to: login'));
  expect(await planResolver(phasesFile)(backfill)).toEqual(embedded);
  await expect(planResolver(phasesFile)(old)).rejects.toThrow(
    /carries no backfill plan, and phases\.yaml no longer generates it as it is/,
  );
  let refused: unknown;
  try {
    requireGeneratedMigrations(await loadCheckedPhases(dir), await files());
  } catch (error) {
    refused = error;
  }
  expect(refused).toMatchObject({
    exitCode: 2,
    // Named as an edit of the change behind a released file, not as a stale file.
    message: expect.stringMatching(
      /001_1\.0\.0_accounts-login_p1_02_backfill\.up\.sql \(differs from what phasectl generates from phases\.yaml .*: phasectl \S+ generated it from another record of change accounts-login/,
    ),
  });
});

test('missing, extra and tampered files of a change are refused by name', async () => {
  const { dir, files } = await project();
  const migrations = join(dir, 'db', 'migrations');
  const all = await files();
  const down = all.find((file) => file.direction === 'down')!;
  await unlink(down.path);
  const extra = '001_1.0.0_accounts-login_p1_09_extra.up.sql';
  await writeFile(
    join(migrations, extra),
    '-- phasectl change=accounts-login phase=1 direction=up step=09-extra release=1.0.0 transaction=true action=sql\nSELECT 1;\n',
  );
  const loaded = await loadCheckedPhases(dir);
  expect(() =>
    requireGeneratedMigrations(
      loaded,
      all.filter((file) => file !== down),
    ),
  ).toThrow(`${down.name} (missing)`);
  const extraFile = (await files()).filter((file) => file.name === extra);
  expect(() => requireGeneratedMigrations(loaded, [...all, ...extraFile])).toThrow(
    `${extra} (phases.yaml no longer generates it)`,
  );

  const backfill = backfillOf(all);
  const tampered = { ...backfill, content: backfill.content.replace('"updateSql":', '"updateSQL":') };
  expect(() => readEmbeddedPlan(tampered.content, backfill.header!, backfill.name)).toThrow(
    /the phasectl plan line is not a backfill plan/,
  );
  const otherChange = { ...backfill.header!, changeId: 'someone-else' };
  expect(() => readEmbeddedPlan(backfill.content, otherChange, backfill.name)).toThrow(
    /does not match the file's header \(change someone-else/,
  );
  const broken = backfill.content.replace(/-- phasectl plan \{/, '-- phasectl plan {{');
  expect(() => readEmbeddedPlan(broken, backfill.header!, backfill.name)).toThrow(/is not valid JSON/);
});
