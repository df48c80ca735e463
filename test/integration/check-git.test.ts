import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { check } from '../../src/commands/check.js';
import { run } from '../../src/cli/main.js';
import { InputError } from '../../src/errors.js';
import { lineOf, writeProject, type RenameFixture } from '../support/check-project.js';
import {
  cloneRepository,
  createOrigin,
  createRepository,
  removeTemporaryRepositories,
  temporaryDir,
  type TestRepository,
} from '../support/git-repo.js';

afterAll(removeTemporaryRepositories);
afterEach(() => void vi.restoreAllMocks());

const TITLE: RenameFixture = { id: 'users-title', from: 'job_title', to: 'favourite_color' };

/** A repository whose main has phase 1 (1.4.0) and whose branch `feature` adds `phases` on top (one commit). */
function repositoryWithFeature(phases: RenameFixture['releases'], releases: string[]): TestRepository {
  const repository = createRepository();
  writeProject(repository, { releases: ['1.4.0'], changes: [{ ...TITLE, releases: { phase1: '1.4.0' } }] });
  repository.commit('release 1.4.0');
  repository.git('checkout', '-q', '-b', 'feature');
  writeProject(repository, { releases, changes: [{ ...TITLE, releases: phases }] });
  repository.commit('next phase');
  return repository;
}

const honest = () => repositoryWithFeature({ phase1: '1.4.0', phase2: '1.5.0' }, ['1.4.0', '1.5.0']);
const greedy = () =>
  repositoryWithFeature({ phase1: '1.4.0', phase2: '1.5.0', phase3: '1.6.0' }, ['1.4.0', '1.5.0', '1.6.0']);

async function rejection(promise: Promise<unknown>): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

/** Runs the CLI in-process and captures what it prints. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const code = await run(['node', 'phasectl', 'check', ...args]);
  vi.restoreAllMocks();
  return { code, stdout, stderr };
}

describe('check: choosing the base', () => {
  it('uses the merge base with origin/main by default in a clone', async () => {
    const source = honest();
    source.git('checkout', '-q', 'main');
    source.write('src/later.ts', 'export const later = 1;\n');
    source.commit('main moves on');
    const clone = cloneRepository(createOrigin(source));
    clone.git('checkout', '-q', 'feature');
    // main moves on after the branch was cut: the merge base, not main's tip, is what the branch is compared with.
    const report = await check({ projectDir: clone.dir });
    expect(report).toMatchObject({ ok: true, base: { ref: 'origin/main', sha: source.git('rev-parse', 'main~1') } });
    expect(report.base?.sha).not.toBe(clone.git('rev-parse', 'origin/main'));
    expect(report.base?.description).toBe('merge base of HEAD and origin/main');
  });

  it('works in a shallow clone when the base is reachable', async () => {
    const source = greedy();
    const shallow = cloneRepository(createOrigin(source), { depth: 2, branch: 'feature' });
    expect(shallow.git('rev-parse', '--is-shallow-repository')).toBe('true');
    shallow.git('fetch', '-q', '--depth', '1', 'origin', 'main:refs/remotes/origin/main');
    const report = await check({ projectDir: shallow.dir });
    expect(report.base).toMatchObject({ ref: 'origin/main', sha: source.git('rev-parse', 'main') });
    expect(report.violations).toMatchObject([
      { rule: 3, file: 'phases.yaml', line: lineOf(shallow.read('phases.yaml'), 'phase3:') },
    ]);
  });

  it('exits 2 with the fetch to run when the merge base is not in the shallow clone', async () => {
    const shallow = cloneRepository(createOrigin(honest()), { depth: 1, branch: 'feature' });
    shallow.git('fetch', '-q', '--depth', '1', 'origin', 'main:refs/remotes/origin/main');
    const error = await rejection(check({ projectDir: shallow.dir }));
    expect(error.message).toContain('not in this shallow clone');
    expect(error.hint).toMatch(/git fetch --deepen=.*fetch-depth: 0/);
    expect(error.exitCode).toBe(2);
  });

  it('exits 2 when the base ref was not fetched into a shallow clone, saying what to fetch', async () => {
    const shallow = cloneRepository(createOrigin(honest()), { depth: 1, branch: 'feature' });
    const error = await rejection(check({ projectDir: shallow.dir, base: 'origin/main' }));
    expect(error.message).toBe('base ref origin/main is not in this shallow clone');
    expect(error.hint).toContain('git fetch origin main');
  });

  it('exits 2 on an unknown base ref', async () => {
    const error = await rejection(check({ projectDir: honest().dir, base: 'no-such-branch' }));
    expect(error.message).toBe('unknown base ref no-such-branch');
    const { code, stderr } = await cli(['--project', honest().dir, '--base', 'no-such-branch']);
    expect(code).toBe(2);
    expect(stderr).toContain('error: unknown base ref no-such-branch');
  });

  it('exits 2 outside a git repository', async () => {
    const dir = temporaryDir();
    const error = await rejection(check({ projectDir: dir }));
    expect(error.message).toContain('is not inside a git repository');
    expect((await cli(['--project', dir])).code).toBe(2);
  });
});

describe('check: output formats through the CLI', () => {
  it('text: violations grouped per change, fix lines, summary with the base; exit 1', async () => {
    const repository = greedy();
    const { code, stdout } = await cli(['--project', repository.dir, '--base', 'main']);
    expect(code).toBe(1);
    const line = lineOf(repository.read('phases.yaml'), 'phase3:');
    expect(stdout).toContain(`users-title\n  phases.yaml:${line}:`);
    expect(stdout).toMatch(/rule 3 \(one phase per pull request\) {2}users-title goes from phase 1/);
    expect(stdout).toContain('\n      fix: keep phase2 only');
    expect(stdout).toMatch(
      new RegExp(
        `check: 1 violation in 1 change \\(base: main ${repository.git('rev-parse', '--short', 'main')}\\)\\n$`,
      ),
    );
  });

  it('text: ok and exit 0 for a clean step', async () => {
    const repository = honest();
    const { code, stdout } = await cli(['--project', repository.dir, '--base', 'main']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^check: ok, 1 change checked \(base: main [0-9a-f]+\)$/m);
  });

  it('json: the JSON document alone on stdout', async () => {
    const repository = greedy();
    const { code, stdout } = await cli(['--project', repository.dir, '--base', 'main', '--format', 'json']);
    expect(code).toBe(1);
    const parsed = JSON.parse(stdout);
    expect(parsed).toMatchObject({
      base: { ref: 'main', sha: repository.git('rev-parse', 'main') },
      ok: false,
      violations: [
        {
          rule: 3,
          name: 'one phase per pull request',
          changeId: 'users-title',
          file: 'phases.yaml',
          line: lineOf(repository.read('phases.yaml'), 'phase3:'),
        },
      ],
    });
  });

  it('github: ::error annotations and the summary; exit-2 errors annotate too', async () => {
    const repository = greedy();
    const { code, stdout } = await cli(['--project', repository.dir, '--base', 'main', '--format', 'github']);
    expect(code).toBe(1);
    const line = lineOf(repository.read('phases.yaml'), 'phase3:');
    expect(stdout).toMatch(
      new RegExp(
        `^::error file=phases.yaml,line=${line},col=\\d+,title=phasectl rule 3 \\(one phase per pull request\\)::users-title: .*\\(fix: keep phase2 only`,
        'm',
      ),
    );
    expect(stdout).toMatch(/^check: 1 violation in 1 change/m);
    const failed = await cli(['--project', repository.dir, '--base', 'nope', '--format', 'github']);
    expect(failed.code).toBe(2);
    expect(failed.stdout).toMatch(/^::error title=phasectl check::unknown base ref nope \(fix: /);
  });
});
