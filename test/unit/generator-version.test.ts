import { expect, test } from 'vitest';
import { generatedFiles } from '../../src/generate/files.js';
import {
  canonicalJson,
  changeInputsDigest,
  DIGEST_BASELINE,
  withoutRefreshedFacts,
} from '../../src/generate/inputs-digest.js';
import { judgeGeneratedFile } from '../../src/generate/version-judge.js';
import { definitionPhase, parseHeader } from '../../src/migration-file/header.js';
import { readProvenance, shortDigest, stampProvenance } from '../../src/migration-file/provenance.js';
import { defaultGenerationSettings } from '../../src/operations/settings.js';
import { durationMs } from '../../src/spec/schema.js';
import type { PhasesFile, RenameChange } from '../../src/spec/types.js';
import { phasectlVersion } from '../../src/version.js';

const change: RenameChange = {
  kind: 'rename',
  id: 'users-job-title',
  rename: { schema: 'public', table: 'users', from: 'job_title', to: 'favourite_color' },
  column: { type: 'text', nullable: false, default: "'unknown'::text", indexes: [], constraints: [] },
  key: { columns: ['id'], types: ['bigint'] },
  releases: { phase1: '1.4.0' },
};
const spec: PhasesFile = {
  version: 1,
  releases: ['1.4.0'],
  migrations: { format: 'sql' },
  check: { sourceGlobs: [], ignoreGlobs: [] },
  changes: [change],
};
const EXPAND = 'db/migrations/001_1.4.0_users-job-title_p1_01_expand.up.sql';
const expand = () => generatedFiles(spec).find((file) => file.path === EXPAND)!.content;
const origin = { changeId: change.id, phase: 1 as const, release: '1.4.0' };

test('every generated file records its generator, inputs and digest on its machine line, which still parses', () => {
  const text = expand();
  const first = text.split('\n', 1)[0]!;
  expect(first).toMatch(
    new RegExp(
      `^-- phasectl change=users-job-title phase=1 .* action=sql generator=${phasectlVersion().replace(/\./g, '\\.')} inputs=[0-9a-f]{16} digest=[0-9a-f]{16}$`,
    ),
  );
  expect(parseHeader(text)).toMatchObject({ changeId: 'users-job-title', phase: 1, order: 1, name: 'expand' });
  // An older header (no provenance) parses the same.
  expect(parseHeader(readProvenance(text)!.bare)).toEqual(parseHeader(text));
  for (const file of generatedFiles(spec)) expect(readProvenance(file.content)?.intact, file.path).toBe(true);
});

test('the digest covers the whole file: any edit, header or body, shows', () => {
  const text = expand();
  expect(readProvenance(text)!.intact).toBe(true);
  expect(readProvenance(text.replace('ADD COLUMN', 'ADD  COLUMN'))!.intact).toBe(false);
  expect(readProvenance(text.replace('transaction=true', 'transaction=false'))!.intact).toBe(false);
  expect(readProvenance(text.replace(/inputs=[0-9a-f]{16}/, 'inputs=0000000000000000'))!.intact).toBe(false);
});

test('a version bump alone changes only the machine line', () => {
  const bare = readProvenance(expand())!.bare;
  const a = stampProvenance(bare, '1.0.0', '0123456789abcdef').split('\n');
  const b = stampProvenance(bare, '2.0.0', '0123456789abcdef').split('\n');
  expect(a.slice(1)).toEqual(b.slice(1));
  expect(a[0]).not.toBe(b[0]);
});

test('the inputs digest is the change as recorded, not the ledger, key order or empty defaults', () => {
  const digest = changeInputsDigest(change, spec);
  expect(changeInputsDigest({ ...change, releases: { phase1: '1.4.0', phase2: '1.5.0' } }, spec)).toBe(digest);
  const reordered = Object.fromEntries(Object.entries(change).reverse()) as unknown as RenameChange;
  expect(changeInputsDigest(reordered, spec)).toBe(digest);
  const withoutDefaults = { ...change, column: { ...change.column, indexes: undefined, constraints: undefined } };
  expect(changeInputsDigest(withoutDefaults as unknown as RenameChange, spec)).toBe(digest);
  expect(changeInputsDigest({ ...change, column: { ...change.column, default: "'x'::text" } }, spec)).not.toBe(digest);
  const slower = { ...spec, migrations: { ...spec.migrations, lockTimeout: '5s' } };
  expect(changeInputsDigest(change, slower)).not.toBe(digest);
  expect(canonicalJson({ b: [], a: { c: 1, d: {} }, e: undefined })).toBe('{"a":{"c":1}}');
  // `plan refresh` records views again mid-flight: a file that reads the same without them keeps its inputs.
  const view = { schema: 'public', name: 'titles', definition: ' SELECT job_title FROM users;', fingerprint: 'f' };
  const refreshed = {
    ...change,
    dependents: { views: [view], foreignKeys: [], functions: [], triggers: [] },
  } as unknown as RenameChange;
  expect(withoutRefreshedFacts(refreshed)).toEqual(change);
  expect(withoutRefreshedFacts(change)).toBeUndefined();
});

test('a timeout written out at its default value changes no digest and no byte; another value changes the inputs', () => {
  // Today's defaults are the digest's baseline (a later version may change a default, never the baseline).
  expect(DIGEST_BASELINE.lockTimeout).toBe(durationMs(defaultGenerationSettings.lockTimeout));
  expect(DIGEST_BASELINE.statementTimeout).toBe(durationMs(defaultGenerationSettings.statementTimeout));
  const digest = changeInputsDigest(change, spec);
  const declaring = (migrations: Partial<PhasesFile['migrations']>) => ({
    ...spec,
    migrations: { ...spec.migrations, ...migrations },
  });
  for (const explicit of [{ lockTimeout: '2s' }, { statementTimeout: '30s' }, { lockTimeout: '2000ms' }]) {
    expect(changeInputsDigest(change, declaring(explicit)), JSON.stringify(explicit)).toBe(digest);
  }
  expect(changeInputsDigest(change, declaring({ statementTimeout: '31s' }))).not.toBe(digest);
  expect(changeInputsDigest(change, declaring({ lockTimeout: '1999ms' }))).not.toBe(digest);
  // Undeclared, or declared at another value: the digest it always had (files already generated keep their headers).
  const { releases: _releases, ...record } = change;
  expect(digest).toBe(shortDigest(canonicalJson({ change: record })!));
  expect(changeInputsDigest(change, declaring({ lockTimeout: '5s' }))).toBe(
    shortDigest(canonicalJson({ change: record, settings: { lockTimeout: '5s' } })!),
  );

  // The files: byte for byte what an undeclared phases.yaml gives (as generate renders them, settings applied).
  const written = declaring({ lockTimeout: '2s', statementTimeout: '30s' });
  const settings = { ...defaultGenerationSettings, lockTimeout: '2s', statementTimeout: '30s' };
  expect(generatedFiles(written, { settings })).toEqual(generatedFiles(spec));
});

test('judging a file another version wrote: kept when its digests hold, refused when edited or its change changed', () => {
  const ours = expand();
  const stamped = readProvenance(ours)!;
  const older = (bare: string, inputs = stamped.provenance.inputs) => stampProvenance(bare, '0.0.9', inputs);
  const otherText = older(stamped.bare.replace('\n\n', '\n\n-- older template\n'));
  expect(judgeGeneratedFile(EXPAND, ours, ours, origin)).toBeUndefined();
  expect(judgeGeneratedFile(EXPAND, ours, otherText, origin)).toMatchObject({
    kind: 'kept',
    level: 'note',
    generator: '0.0.9',
  });
  expect(judgeGeneratedFile(EXPAND, ours, otherText.replace('older template', 'edited'), origin)).toMatchObject({
    kind: 'refused',
    message: expect.stringContaining('edited by hand'),
  });
  const olderBare = stamped.bare.replace('\n\n', '\n\n-- older template\n');
  expect(judgeGeneratedFile(EXPAND, ours, older(olderBare, 'ffffffffffffffff'), origin)).toMatchObject({
    kind: 'refused',
    message: expect.stringContaining('another record of change users-job-title'),
  });
  // Same version, other text: a plain difference, as before (generate rewrites it, the checks refuse it).
  const sameVersion = stampProvenance(
    stamped.bare.replace('\n\n', '\n\n-- x\n'),
    phasectlVersion(),
    stamped.provenance.inputs,
  );
  expect(judgeGeneratedFile(EXPAND, ours, sameVersion, origin)).toBeUndefined();
  // Same version from another record of the change (phases.yaml edited) while its phase is in a release: said so.
  const sameVersionEdited = stampProvenance(
    stamped.bare.replace('\n\n', '\n\n-- x\n'),
    phasectlVersion(),
    'ffffffffffffffff',
  );
  expect(judgeGeneratedFile(EXPAND, ours, sameVersionEdited, origin)).toMatchObject({
    kind: 'refused',
    message: expect.stringContaining('another record of change users-job-title'),
  });
  expect(judgeGeneratedFile(EXPAND, ours, sameVersionEdited, { ...origin, release: undefined })).toBeUndefined();
  // The very text this version renders, stamped from another record (a fact it does not read changed): kept as is.
  const restamped = stampProvenance(stamped.bare, phasectlVersion(), 'ffffffffffffffff');
  expect(judgeGeneratedFile(EXPAND, ours, restamped, origin)).toMatchObject({ kind: 'kept', restamped: true });
  expect(judgeGeneratedFile(EXPAND, ours, older(stamped.bare, 'ffffffffffffffff'), origin)).toMatchObject({
    kind: 'kept',
    restamped: true,
  });
  // No provenance (an older phasectl): kept with a warning when its phase is in a release, else refused.
  const legacy = stamped.bare.replace('\n\n', '\n\n-- older template\n');
  expect(judgeGeneratedFile(EXPAND, ours, legacy, origin)).toMatchObject({ kind: 'kept', level: 'warning' });
  expect(judgeGeneratedFile(EXPAND, ours, stamped.bare, origin)).toMatchObject({ kind: 'kept', level: 'note' });
  expect(judgeGeneratedFile(EXPAND, ours, legacy, { ...origin, release: undefined })).toBeUndefined();
  // A header that names another step than the file is never kept.
  const otherStep = older(stamped.bare.replace('step=01-expand', 'step=02-expand'));
  expect(judgeGeneratedFile(EXPAND, ours, otherStep, origin)).toMatchObject({ kind: 'refused' });
});

test('generatedFiles with the files on disk: kept text stays, the rest is rendered', () => {
  const ours = expand();
  const stamped = readProvenance(ours)!;
  const otherText = stampProvenance(stamped.bare.replace('\n\n', '\n\n-- older\n'), '0.0.9', stamped.provenance.inputs);
  const files = generatedFiles(spec, { existing: (path) => (path === EXPAND ? otherText : undefined) });
  expect(files.find((file) => file.path === EXPAND)).toMatchObject({ content: otherText, judgement: { kind: 'kept' } });
  const regenerated = generatedFiles(spec, {
    existing: (path) => (path === EXPAND ? otherText : undefined),
    regenerateShipped: true,
  });
  expect(regenerated.find((file) => file.path === EXPAND)?.content).toBe(ours);
});

test('migrations.format files lay out the kept text, not what this version would write', () => {
  const ours = expand();
  const stamped = readProvenance(ours)!;
  const otherText = stampProvenance(
    stamped.bare.replace('\n\n', '\n\n-- older template line\n'),
    '0.0.9',
    stamped.provenance.inputs,
  );
  const kysely = { ...spec, migrations: { format: 'kysely' as const } };
  const layout = (existing?: (path: string) => string | undefined) =>
    generatedFiles(kysely, { existing }).find(
      (file) => file.path.startsWith('db/kysely/') && file.path.includes('_expand'),
    )!.content;
  expect(layout()).not.toContain('older template line');
  expect(layout((path) => (path === EXPAND ? otherText : undefined))).toContain('-- older template line');
});

test('definition files belong to the phase that installs them', () => {
  expect(definitionPhase('db/functions/users-job-title_v01.sql')).toBe(1);
  expect(definitionPhase('db/functions/users-job-title_v02.sql')).toBe(2);
  expect(definitionPhase('db/triggers/users-job-title.sql')).toBe(1);
  expect(definitionPhase('db/migrations/001_1.4.0_users-job-title_p1_01_expand.up.sql')).toBeUndefined();
});
