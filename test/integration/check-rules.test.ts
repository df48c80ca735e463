import { afterAll, describe, expect, it } from 'vitest';
import { check } from '../../src/commands/check.js';
import { lineOf, writeProject, type ProjectFixture, type RenameFixture } from '../support/check-project.js';
import { createRepository, removeTemporaryRepositories, type TestRepository } from '../support/git-repo.js';

afterAll(removeTemporaryRepositories);

const TITLE: RenameFixture = { id: 'users-title', from: 'job_title', to: 'favourite_color' };
const EXPAND = 'db/migrations/001_1.4.0_users-title_p1_01_';

function project(
  releases: string[],
  phases: RenameFixture['releases'],
  more: Partial<ProjectFixture> = {},
): ProjectFixture {
  return { releases, changes: [{ ...TITLE, releases: phases }], ...more };
}

/** main: phase 1 of users-title shipped in 1.4.0; HEAD: a new branch `feature` on top of it. */
function repositoryAtPhase1(): TestRepository {
  const repository = createRepository();
  writeProject(repository, project(['1.4.0'], { phase1: '1.4.0' }));
  repository.write('src/users.ts', 'export const titleColumn = "job_title";\n');
  repository.commit('release 1.4.0: phase 1 of users-title');
  repository.git('checkout', '-q', '-b', 'feature');
  return repository;
}

function firstGenerated(repository: TestRepository, prefix: string): string {
  const file = repository.git('ls-files', '--cached', '--others', '--', `${prefix}*`).split('\n')[0];
  if (!file) throw new Error(`no file ${prefix}*`);
  return file;
}

describe('check: the release rules on real repositories', () => {
  it('passes an honest single-phase step (exit 0) and says which base it used', async () => {
    const repository = repositoryAtPhase1();
    writeProject(repository, project(['1.4.0', '1.5.0'], { phase1: '1.4.0', phase2: '1.5.0' }));
    repository.commit('release 1.5.0: phase 2');
    const report = await check({ projectDir: repository.dir, base: 'main' });
    expect(report.violations).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      exitCode: 0,
      base: { ref: 'main', sha: repository.git('rev-parse', 'main') },
    });
    expect(report.base?.shortSha).toBe(repository.git('rev-parse', '--short', 'main'));
  });

  it('refuses two phases in one pull request (rule 3, at the phase3 key)', async () => {
    const repository = repositoryAtPhase1();
    writeProject(
      repository,
      project(['1.4.0', '1.5.0', '1.6.0'], { phase1: '1.4.0', phase2: '1.5.0', phase3: '1.6.0' }),
    );
    repository.commit('phases 2 and 3 at once');
    const report = await check({ projectDir: repository.dir, base: 'main' });
    expect(report.exitCode).toBe(1);
    expect(report.violations.filter((violation) => violation.rule === 3)).toMatchObject([
      { changeId: 'users-title', file: 'phases.yaml', line: lineOf(repository.read('phases.yaml'), 'phase3:') },
    ]);
  });

  it('refuses two phases of one change in one release (rule 2, ledger edited by hand)', async () => {
    const repository = repositoryAtPhase1();
    writeProject(repository, project(['1.4.0'], { phase1: '1.4.0', phase2: '1.4.0' }));
    repository.commit('phase 2 squeezed into 1.4.0');
    const report = await check({ projectDir: repository.dir, base: 'main' });
    expect(report.exitCode).toBe(1);
    expect(report.violations.filter((violation) => violation.rule === 2)).toMatchObject([
      { changeId: 'users-title', file: 'phases.yaml', line: lineOf(repository.read('phases.yaml'), 'phase2:') },
    ]);
  });

  it('refuses a hand-edited generated file (rule 4, at the edited line)', async () => {
    const repository = repositoryAtPhase1();
    writeProject(repository, project(['1.4.0', '1.5.0'], { phase1: '1.4.0', phase2: '1.5.0' }));
    const switchFile = firstGenerated(repository, 'db/migrations/002_1.5.0_users-title_p2_');
    const lines = repository.read(switchFile).split('\n');
    lines.splice(4, 0, '-- tweaked by hand');
    repository.write(switchFile, lines.join('\n'));
    repository.commit('phase 2, edited');
    const report = await check({ projectDir: repository.dir, base: 'main' });
    expect(report.violations).toMatchObject([{ rule: 4, changeId: 'users-title', file: switchFile, line: 5 }]);
  });

  it('refuses a stale generated file: phases.yaml changed, generate not run (rule 4)', async () => {
    const repository = repositoryAtPhase1();
    const before = repository.read('phases.yaml');
    repository.write(
      'phases.yaml',
      before
        .replace('releases: [1.4.0]', 'releases: [1.4.0, 1.5.0]')
        .replace('      phase1: 1.4.0', '      phase1: 1.4.0\n      phase2: 1.5.0'),
    );
    repository.commit('phase 2 in the ledger only');
    const report = await check({ projectDir: repository.dir, base: 'main' });
    expect(report.violations.length).toBeGreaterThan(0);
    for (const violation of report.violations) {
      expect(violation).toMatchObject({
        rule: 4,
        changeId: 'users-title',
        message: expect.stringContaining('is missing'),
      });
      expect(violation.file).toMatch(/^db\/.*users-title/);
    }
  });

  it('refuses a deleted and an edited shipped file (rule 5)', async () => {
    const repository = repositoryAtPhase1();
    const shipped = repository.git('ls-files', '--', 'db/migrations').split('\n');
    const [deleted, edited] = [shipped[0]!, shipped[1]!];
    repository.remove(deleted);
    repository.write(edited, repository.read(edited).replace(/\n$/, '\n-- one more line\n'));
    repository.commit('rewrite history');
    const report = await check({ projectDir: repository.dir, base: 'main' });
    const rule5 = report.violations.filter((violation) => violation.rule === 5);
    expect(rule5.map((violation) => violation.file).sort()).toEqual([deleted, edited].sort());
    expect(rule5.find((violation) => violation.file === deleted)?.message).toContain('was removed');
    expect(rule5.find((violation) => violation.file === edited)).toMatchObject({
      line: repository.read(edited).split('\n').indexOf('-- one more line') + 1,
      message: expect.stringContaining('was changed'),
    });
    // The same files no longer match what phasectl generates either.
    expect(
      report.violations
        .filter((violation) => violation.rule === 4)
        .map((violation) => violation.file)
        .sort(),
    ).toEqual([deleted, edited].sort());
  });

  it('skips base rules without a base and says so', async () => {
    const repository = createRepository();
    writeProject(
      repository,
      project(['1.4.0', '1.5.0', '1.6.0'], { phase1: '1.4.0', phase2: '1.5.0', phase3: '1.6.0' }),
    );
    repository.commit('everything at once, no base to compare with');
    const report = await check({ projectDir: repository.dir });
    expect(report).toMatchObject({ base: null, ok: true, exitCode: 0 });
    expect(report.notes.join('\n')).toMatch(/no base/);
  });

  it('reports an invalid phases.yaml as rule 0 with exit 2', async () => {
    const repository = repositoryAtPhase1();
    repository.write('phases.yaml', repository.read('phases.yaml').replace('version: 1', 'version: 2'));
    const report = await check({ projectDir: repository.dir, base: 'main' });
    expect(report).toMatchObject({ ok: false, exitCode: 2, violations: [{ rule: 0, file: 'phases.yaml', line: 2 }] });
  });

  it('checks a project that lives in a subfolder of the repository, paths relative to the repository root', async () => {
    const repository = createRepository();
    writeProject(repository, project(['1.4.0'], { phase1: '1.4.0' }), 'app/');
    repository.commit('phase 1');
    repository.git('checkout', '-q', '-b', 'feature');
    writeProject(
      repository,
      project(['1.4.0', '1.5.0', '1.6.0'], { phase1: '1.4.0', phase2: '1.5.0', phase3: '1.6.0' }),
      'app/',
    );
    repository.remove(firstGenerated(repository, `app/${EXPAND}`));
    repository.commit('two phases, a shipped file deleted');
    const report = await check({ projectDir: `${repository.dir}/app`, base: 'main' });
    expect(
      new Set(
        report.violations.map((violation) => `${violation.rule} ${violation.file.split('/').slice(0, 2).join('/')}`),
      ),
    ).toEqual(new Set(['3 app/phases.yaml', '4 app/db', '5 app/db']));
  });
});

describe('check: rule 6, the dropped column is no longer named', () => {
  /** main: phase 2 shipped in 1.5.0, with `source` in src/users.ts; HEAD (feature): phase 3 with `headSource`. */
  function enterPhase3(source: string, headSource: string): TestRepository {
    const repository = createRepository();
    writeProject(repository, project(['1.4.0', '1.5.0'], { phase1: '1.4.0', phase2: '1.5.0' }));
    repository.write('src/users.ts', source);
    repository.write('db/notes.sql', '-- job_title is mentioned here, but db/** is ignored\n');
    repository.commit('release 1.5.0');
    repository.git('checkout', '-q', '-b', 'feature');
    writeProject(
      repository,
      project(['1.4.0', '1.5.0', '1.6.0'], { phase1: '1.4.0', phase2: '1.5.0', phase3: '1.6.0' }),
    );
    repository.write('src/users.ts', headSource);
    repository.commit('release 1.6.0: phase 3');
    return repository;
  }

  const CLEAN = 'export function title(row: { favourite_color: string }) {\n  return row.favourite_color;\n}\n';

  it('passes when neither HEAD nor the base names the column', async () => {
    const report = await check({ projectDir: enterPhase3(CLEAN, CLEAN).dir, base: 'main' });
    expect(report.violations).toEqual([]);
  });

  it('reports a reference at HEAD at file:line:column, with the form that matched', async () => {
    const source = 'export function title(row: Row) {\n  return row.jobTitle ?? row["job_title"];\n}\n';
    const report = await check({ projectDir: enterPhase3(source, source).dir, base: 'main' });
    expect(report.exitCode).toBe(1);
    expect(report.violations).toMatchObject([
      {
        rule: 6,
        changeId: 'users-title',
        file: 'src/users.ts',
        line: 2,
        column: 14,
        message: expect.stringContaining('camelCase form `jobTitle`'),
      },
      {
        rule: 6,
        changeId: 'users-title',
        file: 'src/users.ts',
        line: 2,
        column: 31,
        message: expect.stringContaining('exact name `job_title`'),
      },
    ]);
  });

  it('reports a reference only the base still has: the previous release runs during the phase-3 deploy', async () => {
    const report = await check({
      projectDir: enterPhase3('const sql = "select job_title from users";\n', CLEAN).dir,
      base: 'main',
    });
    expect(report.violations).toMatchObject([
      { rule: 6, file: 'src/users.ts', line: 1, column: 21, message: expect.stringContaining('only the base') },
    ]);
  });

  it('accepts an ignore comment with a reason, not one without', async () => {
    const withReason = 'const api = "job_title"; // phasectl-ignore: field of the jobs API, not the column\n';
    expect((await check({ projectDir: enterPhase3(withReason, withReason).dir, base: 'main' })).violations).toEqual([]);
    const withoutReason = 'const api = "job_title"; // phasectl-ignore\n';
    const report = await check({ projectDir: enterPhase3(withReason, withoutReason).dir, base: 'main' });
    expect(report.violations).toMatchObject([
      { rule: 6, line: 1, column: 14, message: expect.stringContaining('has no reason') },
    ]);
  });
});

describe('check: rule 7, --release-tags', () => {
  function addPhase2(): TestRepository {
    const repository = repositoryAtPhase1();
    writeProject(repository, project(['1.4.0', '1.5.0'], { phase1: '1.4.0', phase2: '1.5.0' }));
    repository.commit('phase 2');
    return repository;
  }

  it('refuses phase 2 while release 1.4.0 has no tag', async () => {
    const repository = addPhase2();
    const report = await check({ projectDir: repository.dir, base: 'main', releaseTags: 'v*' });
    expect(report.violations).toMatchObject([
      {
        rule: 7,
        changeId: 'users-title',
        file: 'phases.yaml',
        line: lineOf(repository.read('phases.yaml'), 'phase2:'),
        message: expect.stringContaining('no tag v1.4.0'),
      },
    ]);
  });

  it('accepts phase 2 once 1.4.0 is tagged, and uses the tag as the base when nothing else is given', async () => {
    const repository = addPhase2();
    repository.git('tag', 'v1.4.0', 'main');
    expect((await check({ projectDir: repository.dir, base: 'main', releaseTags: 'v*' })).violations).toEqual([]);
    const report = await check({ projectDir: repository.dir, releaseTags: 'v*' });
    expect(report).toMatchObject({ ok: true, base: { ref: 'v1.4.0', sha: repository.git('rev-parse', 'main') } });
  });
});
