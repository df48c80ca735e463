import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { buildProgram } from '../../src/cli/main.js';
import { repoRoot, requireBuiltCli } from '../support/cli.js';

/** The package entry as a user's `import … from 'phasectl'` resolves it: package.json "exports" → dist/. */
async function packageEntry(): Promise<Record<string, unknown>> {
  requireBuiltCli();
  const manifest = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as {
    exports: { '.': { import: string } };
  };
  return (await import(pathToFileURL(join(repoRoot, manifest.exports['.'].import)).href)) as Record<string, unknown>;
}

/** The library function behind each CLI command (demo is a show, not a library call). */
const LIBRARY_FUNCTIONS: Record<string, string[]> = {
  init: ['init'],
  plan: ['planRename', 'planMove', 'planRefresh'],
  advance: ['advance'],
  generate: ['generate', 'checkGenerated'],
  migrate: ['migrate'],
  rollback: ['rollback'],
  backfill: ['backfill'],
  verify: ['verify'],
  status: ['status'],
  check: ['check'],
  archive: ['archive'],
  unplan: ['unplan'],
};

test('every CLI command is a function exported from the built package entry', async () => {
  const entry = await packageEntry();
  const commands = buildProgram()
    .commands.map((command) => command.name())
    .filter((name) => name !== 'demo');
  expect(commands.sort()).toEqual(Object.keys(LIBRARY_FUNCTIONS).sort());
  for (const name of Object.values(LIBRARY_FUNCTIONS).flat()) {
    expect(typeof entry[name], `export ${name}`).toBe('function');
  }
  for (const name of [
    'PhasectlError',
    'InputError',
    'RuntimeFailure',
    'formatError',
    'renderCheckText',
    'renderCheckJson',
    'renderCheckGithub',
  ]) {
    expect(typeof entry[name], `export ${name}`).toBe('function');
  }
});

test('the exported commands work as a library with projectDir: init, plan, advance, generate', async () => {
  const entry = (await packageEntry()) as {
    init(options: { projectDir: string }): Promise<{ created: string[] }>;
    planRename(options: {
      projectDir: string;
      target: string;
      newName: string;
      type: string;
      key: string;
    }): Promise<{ change: { id: string } }>;
    advance(options: { projectDir: string; release: string }): Promise<{ kind: string; written: string[] }>;
    checkGenerated(options: { projectDir: string }): Promise<{ clean: boolean }>;
  };
  const projectDir = await mkdtemp(join(tmpdir(), 'phasectl-library-'));
  try {
    expect((await entry.init({ projectDir })).created).toContain('phases.yaml');
    const { change } = await entry.planRename({
      projectDir,
      target: 'users.job_title',
      newName: 'favourite_color',
      type: 'text',
      key: 'id:bigint',
    });
    expect(change.id).toBe('users-job-title-to-favourite-color');
    const advanced = await entry.advance({ projectDir, release: '1.4.0' });
    expect(advanced.kind).toBe('advanced');
    expect(advanced.written.length).toBeGreaterThan(0);
    expect((await entry.checkGenerated({ projectDir })).clean).toBe(true);
  } finally {
    await rm(projectDir, { recursive: true, force: true });
  }
});
