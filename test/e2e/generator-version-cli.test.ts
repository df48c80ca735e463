import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { initialPhasesText } from '../../src/commands/init.js';
import { readProvenance, stampProvenance } from '../../src/migration-file/provenance.js';
import { checksum } from '../../src/generate/checksum.js';
import { phasectlProcess } from '../support/cli-process.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';

/**
 * Upgrading phasectl mid-flight: phase 1 shipped in release 1.0.0, written by an older phasectl (0.0.9) whose
 * templates rendered other text. The new version keeps that text (what production ran), the checks accept it by
 * its header's digests, and phases 2 and 3 of the new version run on what phase 1 of the old one created. A hand
 * edit of the old file, or an edit of the change behind it, is still refused.
 */
const cleanups: (() => Promise<void>)[] = [];
let url: string;
let dir: string;
beforeAll(async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  url = db.url;
  dir = await mkdtemp(join(tmpdir(), 'phasectl-upgrade-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText());
  await query(
    url,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'none');
     INSERT INTO public.users SELECT g, 'title ' || g FROM generate_series(1, 500) g;`,
  );
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const cli = (args: string[]) => phasectlProcess(dir, args, { DATABASE_URL: url });
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', '-c', 'commit.gpgsign=false', ...args], {
    cwd: dir,
    encoding: 'utf8',
  }).trim();
const read = (file: string) => readFile(join(dir, file), 'utf8');
const write = (file: string, text: string) => writeFile(join(dir, file), text);

const EXPAND = 'db/migrations/001_1.0.0_users-title_p1_01_expand.up.sql';
const BACKFILL = 'db/migrations/001_1.0.0_users-title_p1_02_backfill.up.sql';
const FUNCTION_V01 = 'db/functions/users-title_v01.sql';

/** `text` as phasectl `version` would have written it from the same inputs with a template that renders `edit(text)`. */
function writtenBy(version: string, text: string, edit: (bare: string) => string): string {
  const stamped = readProvenance(text);
  // (A phasectl that stamps nothing, e.g. before this feature: any inputs digest, so the test fails on what matters.)
  return stampProvenance(edit(stamped?.bare ?? text), version, stamped?.provenance.inputs ?? '0'.repeat(16));
}
/** What an older template might differ in: a comment and a blank line more below the header. */
const olderTemplate = (bare: string) => bare.replace('\n\n', '\n\n-- (an older template wrote this line)\n\n');

test('phase 1 from phasectl 0.0.9 in a shipped release: kept, accepted with a note, and phases 2 and 3 of this version run on it', async () => {
  expect((await cli(['plan', 'rename', 'public.users.job_title', 'favourite_color', '--id', 'users-title'])).code).toBe(
    0,
  );
  expect((await cli(['advance', '--release', '1.0.0'])).code).toBe(0);
  // Release 1.0.0 as phasectl 0.0.9 wrote it: other text, same inputs, correct digests.
  const old = {
    [EXPAND]: writtenBy('0.0.9', await read(EXPAND), olderTemplate),
    [BACKFILL]: writtenBy('0.0.9', await read(BACKFILL), olderTemplate),
    [FUNCTION_V01]: writtenBy('0.0.9', await read(FUNCTION_V01), olderTemplate),
  };
  for (const [file, text] of Object.entries(old)) await write(file, text);
  expect(old[EXPAND]).toMatch(
    /^-- phasectl change=users-title .* generator=0\.0\.9 inputs=[0-9a-f]{16} digest=[0-9a-f]{16}\n/,
  );
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'release 1.0.0 (phasectl 0.0.9)');

  // Production applies release 1.0.0: the 0.0.9 text runs and its checksum is recorded.
  const first = await cli(['migrate']);
  expect(first.code, first.stdout + first.stderr).toBe(0);
  expect(first.stdout).toContain('note: 2 generated file(s) written by phasectl 0.0.9 kept as written');
  expect(await query(url, `SELECT checksum FROM phasectl.migrations WHERE name = $1`, [EXPAND.split('/')[2]])).toEqual([
    { checksum: checksum(old[EXPAND]!) },
  ]);

  // After the upgrade: generate keeps the shipped text; generate --check and check accept it with a note.
  const generate = await cli(['generate']);
  expect(generate.code, generate.stdout + generate.stderr).toBe(0);
  expect(generate.stdout).toContain('0 file(s) written');
  expect(generate.stdout).toContain('note: 3 generated file(s) written by phasectl 0.0.9 kept as written');
  for (const [file, text] of Object.entries(old)) expect(await read(file)).toBe(text);
  const generateCheck = await cli(['generate', '--check']);
  expect(generateCheck.code, generateCheck.stdout).toBe(0);
  expect(generateCheck.stdout).toContain('note: 3 generated file(s) written by phasectl 0.0.9 kept as written');
  const check = await cli(['check', '--base', 'HEAD']);
  expect(check.code, check.stdout + check.stderr).toBe(0);
  expect(check.stdout).toContain('note: 3 generated file(s) written by phasectl 0.0.9 kept as written');

  // Release 1.1.0 and 1.2.0, written by this version, run on the objects 0.0.9's phase 1 created.
  expect((await cli(['advance', '--release', '1.1.0'])).code).toBe(0);
  for (const [file, text] of Object.entries(old)) expect(await read(file)).toBe(text);
  expect(await read('db/migrations/002_1.1.0_users-title_p2_02_switch.up.sql')).not.toContain('generator=0.0.9');
  const second = await cli(['migrate']);
  expect(second.code, second.stdout + second.stderr).toBe(0);
  expect((await cli(['generate', '--check'])).code).toBe(0);
  await query(url, `UPDATE public.users SET favourite_color = 'written by 1.1.0' WHERE id = 1`);
  expect((await cli(['advance', '--release', '1.2.0'])).code).toBe(0);
  const third = await cli(['migrate']);
  expect(third.code, third.stdout + third.stderr).toBe(0);
  expect(
    await query(
      url,
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE favourite_color = 'title ' || id)::int AS copied,
              min(favourite_color) FILTER (WHERE id = 1) AS first
         FROM public.users`,
    ),
  ).toEqual([{ n: 500, copied: 499, first: 'written by 1.1.0' }]);
  expect(
    await query(
      url,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY column_name`,
    ),
  ).toEqual([{ column_name: 'favourite_color' }, { column_name: 'id' }]);
  expect(
    await query(url, `SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.users'::regclass AND NOT tgisinternal`),
  ).toEqual([]);
  expect(
    await query(
      url,
      `SELECT proname FROM pg_proc WHERE pronamespace = 'phasectl'::regnamespace AND proname <> 'refuse_untrusted_code'`,
    ),
  ).toEqual([]);
}, 300_000);

test('a hand edit of the 0.0.9 file is refused by generate --check, check and migrate', async () => {
  const original = await read(EXPAND);
  expect(original).toContain('generator=0.0.9');
  await write(EXPAND, original.replace('-- (an older template wrote this line)', '-- (edited by hand)'));
  try {
    const generateCheck = await cli(['generate', '--check']);
    expect(generateCheck.code).toBe(1);
    expect(generateCheck.stdout).toContain(`changed:    ${EXPAND}`);
    expect(generateCheck.stdout).toContain('it was edited by hand');
    const check = await cli(['check', '--base', 'HEAD']);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain('no longer matches the digest phasectl 0.0.9 recorded in its header');
    const migrate = await cli(['migrate']);
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain('it was edited by hand');
  } finally {
    await write(EXPAND, original);
  }
  expect((await cli(['generate', '--check'])).code).toBe(0);
}, 120_000);

test('an edit of the change behind the 0.0.9 file (phases.yaml) is refused by generate --check and migrate', async () => {
  const phases = await read('phases.yaml');
  expect(phases).toContain(`default: "'none'::text"`);
  await write('phases.yaml', phases.replace(`default: "'none'::text"`, `default: "'unknown'::text"`));
  try {
    const generateCheck = await cli(['generate', '--check']);
    expect(generateCheck.code).toBe(1);
    expect(generateCheck.stdout).toContain(`changed:    ${EXPAND}`);
    expect(generateCheck.stdout).toContain('phasectl 0.0.9 generated it from another record of change users-title');
    const migrate = await cli(['migrate']);
    expect(migrate.code).toBe(2);
    expect(migrate.stderr).toContain('phasectl 0.0.9 generated it from another record of change users-title');
  } finally {
    await write('phases.yaml', phases);
  }
}, 120_000);

test('generate --regenerate-shipped rewrites the 0.0.9 files with this version', async () => {
  const result = await cli(['generate', '--regenerate-shipped']);
  expect(result.code, result.stdout + result.stderr).toBe(0);
  expect(result.stdout).toContain(`wrote ${EXPAND}`);
  expect(await read(EXPAND)).not.toContain('generator=0.0.9');
  expect(await read(EXPAND)).not.toContain('an older template');
  expect((await cli(['generate', '--check'])).stdout).toContain('generated files are up to date');
  // Only safe before any database applied them: this one did, and migrate says so.
  const migrate = await cli(['migrate']);
  expect(migrate.code).toBe(2);
  expect(migrate.stderr).toContain('changed after it was applied');
}, 60_000);

test('generate rewrites files of a released phase after phases.yaml changed the change, and warns that they may have shipped', async () => {
  const phases = await read('phases.yaml');
  // The default moves to the new column in phase 3: the contract reads it, phase 1's expand does not.
  const CONTRACT = 'db/migrations/003_1.2.0_users-title_p3_02_contract.up.sql';
  const applied = await read(CONTRACT);
  await write('phases.yaml', phases.replace(`default: "'none'::text"`, `default: "'unknown'::text"`));
  try {
    const edited = await cli(['generate']);
    expect(edited.code, edited.stderr).toBe(0);
    expect(edited.stdout).toContain(`wrote ${CONTRACT}`);
    // A file whose text the edit does not change keeps its stamp (a database may have applied it).
    expect(edited.stdout).not.toContain(`wrote ${EXPAND}`);
    expect(edited.stderr).toContain('warning: rewrote');
    expect(edited.stderr).toContain(`  ${CONTRACT}\n`);
    expect(edited.stderr).toContain('restore phases.yaml as it was');
    // The check names the edit, not a stale file, and migrate refuses what the database did not run.
    const migrate = await cli(['migrate']);
    expect(migrate.code).toBe(2);
  } finally {
    await write('phases.yaml', phases);
  }
  // Back to the record the database ran: the same text again, said once more (generated from another record).
  const restored = await cli(['generate']);
  expect(restored.code, restored.stderr).toBe(0);
  expect(await read(CONTRACT)).toBe(applied);
  // An unchanged project: nothing rewritten, nothing said.
  const again = await cli(['generate']);
  expect(again.stderr).not.toContain('warning');
  expect(again.stdout).toContain('0 file(s) written');
}, 60_000);

test('files from a phasectl that recorded no version: kept with a warning when their phase is in a release, rendered anew otherwise', async () => {
  const project = await mkdtemp(join(tmpdir(), 'phasectl-legacy-'));
  cleanups.push(() => rm(project, { recursive: true, force: true }));
  const run = (args: string[]) => phasectlProcess(project, args);
  const file = (name: string) => join(project, name);
  const inProject = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', '-c', 'commit.gpgsign=false', ...args], {
      cwd: project,
      encoding: 'utf8',
    }).trim();
  await writeFile(file('phases.yaml'), initialPhasesText());
  const plan = await run([
    'plan',
    'rename',
    'users.job_title',
    'favourite_color',
    '--type',
    'text',
    '--key',
    'id:bigint',
  ]);
  expect(plan.code, plan.stderr).toBe(0);
  expect((await run(['advance', '--release', '1.0.0'])).code).toBe(0);
  const expand = 'db/migrations/001_1.0.0_users-job-title-to-favourite-color_p1_01_expand.up.sql';
  const backfill = 'db/migrations/001_1.0.0_users-job-title-to-favourite-color_p1_02_backfill.up.sql';
  const v02 = 'db/functions/users-job-title-to-favourite-color_v02.sql';
  const bare = async (name: string) => {
    const text = await readFile(file(name), 'utf8');
    return readProvenance(text)?.bare ?? text;
  };
  // Written before phasectl stamped its files: no generator, inputs or digest in the machine line.
  const legacy = {
    [expand]: olderTemplate(await bare(expand)),
    [backfill]: await bare(backfill),
    [v02]: olderTemplate(await bare(v02)),
  };
  for (const [name, text] of Object.entries(legacy)) await writeFile(file(name), text);
  inProject('init', '-q', '-b', 'main');
  inProject('add', '-A');
  inProject('commit', '-q', '-m', 'release 1.0.0 (an older phasectl)');

  // Phase 2 is in no release: its function's reviewable copy is stale, never kept.
  const before = await run(['generate', '--check']);
  expect(before.code).toBe(1);
  expect(before.stdout).toContain(`changed:    ${v02} (differs from what phasectl generates)`);
  expect(before.stdout).not.toContain(`changed:    ${expand}`);

  const generate = await run(['generate']);
  expect(generate.code, generate.stderr).toBe(0);
  expect(generate.stdout).toContain(`wrote ${v02}`);
  expect(generate.stdout).not.toContain(`wrote ${expand}`);
  expect(generate.stdout).toContain(
    'note: 1 generated file(s) written by an older phasectl (no version in their header) kept as written',
  );
  expect(generate.stderr).toContain(`warning: ${expand}: written by a phasectl older than`);
  expect(generate.stderr).toContain(
    'kept as written, because phase 1 of users-job-title-to-favourite-color is in release 1.0.0',
  );
  expect(await readFile(file(expand), 'utf8')).toBe(legacy[expand]);
  expect(await readFile(file(backfill), 'utf8')).toBe(legacy[backfill]);

  const after = await run(['generate', '--check']);
  expect(after.code, after.stdout).toBe(0);
  expect(after.stderr).toContain(`warning: ${expand}`);
  // The function copy of a phase no release holds yet may change: rule 5 leaves it out.
  const check = await run(['check', '--base', 'HEAD']);
  expect(check.code, check.stdout + check.stderr).toBe(0);
  expect(check.stdout).toContain(`warning: ${expand}  written by a phasectl older than`);
}, 120_000);
