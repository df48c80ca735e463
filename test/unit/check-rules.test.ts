import { describe, expect, it } from 'vitest';
import { generatedFileViolations } from '../../src/check/rules/generated-files.js';
import { oldColumnReferenceViolations } from '../../src/check/rules/old-column-references.js';
import { phaseStepViolations } from '../../src/check/rules/phase-step.js';
import { releaseTagName, releaseTagViolations } from '../../src/check/rules/release-tags.js';
import { shippedFileViolations } from '../../src/check/rules/shipped-files.js';
import { InputError } from '../../src/errors.js';
import { parsePhasesText } from '../../src/spec/load.js';
import { lineOf, phasesYaml, type RenameFixture } from '../support/check-phases-yaml.js';

const RELEASES = ['1.4.0', '1.5.0', '1.6.0'];

function ledger(releases: RenameFixture['releases'], extra: RenameFixture[] = []) {
  const text = phasesYaml({
    releases: RELEASES,
    changes: [{ id: 'users-title', from: 'job_title', to: 'favourite_color', releases }, ...extra],
  });
  return { text, loaded: parsePhasesText(text, 'phases.yaml') };
}

describe('rule 3: one phase per pull request', () => {
  it('accepts one phase gained, and no change at all', () => {
    const base = ledger({ phase1: '1.4.0' }).loaded.spec;
    for (const head of [ledger({ phase1: '1.4.0', phase2: '1.5.0' }), ledger({ phase1: '1.4.0' })]) {
      expect(
        phaseStepViolations({
          base,
          head: head.loaded.spec,
          phasesFile: 'phases.yaml',
          locate: head.loaded.locate,
          baseLabel: 'main',
        }),
      ).toEqual([]);
    }
  });

  it('reports two phases gained at the first phase too many', () => {
    const base = ledger({ phase1: '1.4.0' }).loaded.spec;
    const head = ledger({ phase1: '1.4.0', phase2: '1.5.0', phase3: '1.6.0' });
    const [violation, ...rest] = phaseStepViolations({
      base,
      head: head.loaded.spec,
      phasesFile: 'phases.yaml',
      locate: head.loaded.locate,
      baseLabel: 'main abc',
    });
    expect(rest).toEqual([]);
    expect(violation).toMatchObject({
      rule: 3,
      changeId: 'users-title',
      file: 'phases.yaml',
      line: lineOf(head.text, 'phase3:'),
    });
    expect(violation?.message).toContain('from phase 1 at the base (main abc) to phase 3');
  });

  it('lets a new change enter at phase 1 only', () => {
    const base = ledger({ phase1: '1.4.0' }).loaded.spec;
    const newcomer = { id: 'users-email', from: 'email', to: 'contact_email' };
    const fine = ledger({ phase1: '1.4.0' }, [{ ...newcomer, releases: { phase1: '1.5.0' } }]);
    expect(
      phaseStepViolations({
        base,
        head: fine.loaded.spec,
        phasesFile: 'phases.yaml',
        locate: fine.loaded.locate,
        baseLabel: 'main',
      }),
    ).toEqual([]);
    const tooFar = ledger({ phase1: '1.4.0' }, [{ ...newcomer, releases: { phase1: '1.5.0', phase2: '1.6.0' } }]);
    const violations = phaseStepViolations({
      base,
      head: tooFar.loaded.spec,
      phasesFile: 'phases.yaml',
      locate: tooFar.loaded.locate,
      baseLabel: 'main',
    });
    expect(violations).toMatchObject([
      { rule: 3, changeId: 'users-email', line: lineOf(tooFar.text, 'phase2:', lineOf(tooFar.text, 'users-email')) },
    ]);
    expect(violations[0]?.message).toContain('a new change enters at phase 1');
  });

  it('reports a recorded phase that was removed or moved to another release', () => {
    const base = ledger({ phase1: '1.4.0', phase2: '1.5.0' }).loaded.spec;
    const removed = ledger({ phase1: '1.4.0' });
    expect(
      phaseStepViolations({
        base,
        head: removed.loaded.spec,
        phasesFile: 'phases.yaml',
        locate: removed.loaded.locate,
        baseLabel: 'main',
      }),
    ).toMatchObject([
      { rule: 3, message: expect.stringContaining('phase2 of users-title (release 1.5.0) is recorded at the base') },
    ]);
    const moved = ledger({ phase1: '1.4.0', phase2: '1.6.0' });
    expect(
      phaseStepViolations({
        base,
        head: moved.loaded.spec,
        phasesFile: 'phases.yaml',
        locate: moved.loaded.locate,
        baseLabel: 'main',
      }),
    ).toMatchObject([
      { rule: 3, line: lineOf(moved.text, 'phase2:'), message: expect.stringContaining('moved from release 1.5.0') },
    ]);
  });
});

describe('rule 4: generated files up to date', () => {
  const header =
    '-- phasectl change=users-title phase=1 direction=up step=01-expand release=1.4.0 transaction=true action=sql\n';
  const expected = [
    {
      path: 'db/migrations/001_1.4.0_users-title_p1_01_expand.up.sql',
      content: `${header}-- expand\nALTER TABLE x;\n`,
    },
  ];

  it('accepts identical files (line endings aside) and leaves the team’s own files alone', () => {
    const present = new Map([
      [expected[0]!.path, expected[0]!.content.replace(/\n/g, '\r\n')],
      ['db/seeds/users.sql', 'INSERT INTO users VALUES (1);\n'],
    ]);
    expect(generatedFileViolations({ expected, present })).toEqual([]);
  });

  it('reports an edited file at its first differing line, a missing one, and an unexpected phasectl file', () => {
    const edited = generatedFileViolations({
      expected,
      present: new Map([[expected[0]!.path, `${header}-- expand\nALTER TABLE y;\n`]]),
    });
    expect(edited).toMatchObject([{ rule: 4, changeId: 'users-title', file: expected[0]!.path, line: 3 }]);
    expect(generatedFileViolations({ expected, present: new Map() })).toMatchObject([
      { rule: 4, message: expect.stringContaining('is missing') },
    ]);
    const stray = 'db/migrations/002_1.5.0_users-title_p2_01_switch.up.sql';
    const unexpected = generatedFileViolations({
      expected,
      present: new Map([
        [expected[0]!.path, expected[0]!.content],
        [stray, header.replace('phase=1', 'phase=2')],
      ]),
    });
    expect(unexpected).toMatchObject([
      { rule: 4, changeId: 'users-title', file: stray, message: expect.stringContaining('does not generate it') },
    ]);
  });
});

describe('rule 5: shipped files unchanged', () => {
  it('reports changed and removed files of the base, nothing for new or identical ones', () => {
    const base = new Map([
      ['db/migrations/001_1.4.0_users-title_p1_01_expand.up.sql', 'aaa'],
      ['db/migrations/001_1.4.0_users-title_p1_02_backfill.up.sql', 'bbb'],
      ['db/migrations/001_1.4.0_users-title_p1_03_indexes.up.sql', 'ccc'],
    ]);
    const working = new Map([
      ['db/migrations/001_1.4.0_users-title_p1_01_expand.up.sql', 'aaa'],
      ['db/migrations/001_1.4.0_users-title_p1_03_indexes.up.sql', 'ddd'],
      ['db/migrations/002_1.5.0_users-title_p2_01_switch.up.sql', 'eee'],
    ]);
    const violations = shippedFileViolations({
      base,
      working,
      baseLabel: 'main abc1234',
      baseCommit: 'abc1234',
      firstChangedLine: new Map([['db/migrations/001_1.4.0_users-title_p1_03_indexes.up.sql', 7]]),
    });
    expect(violations).toMatchObject([
      {
        rule: 5,
        changeId: 'users-title',
        file: 'db/migrations/001_1.4.0_users-title_p1_02_backfill.up.sql',
        message: expect.stringContaining('was removed'),
      },
      {
        rule: 5,
        changeId: 'users-title',
        file: 'db/migrations/001_1.4.0_users-title_p1_03_indexes.up.sql',
        line: 7,
        message: expect.stringContaining('was changed'),
      },
    ]);
    expect(violations[0]?.fix).toContain('git checkout abc1234 --');
  });
});

describe('rule 6: old column unreferenced', () => {
  const dropped = [{ changeId: 'users-title', table: 'public.users', column: 'job_title' }];

  it('reports every occurrence at HEAD with its column and form', () => {
    const violations = oldColumnReferenceViolations({
      dropped,
      head: [{ path: 'src/a.ts', line: 4, text: '  user.jobTitle = row.job_title;' }],
    });
    expect(violations).toMatchObject([
      { rule: 6, file: 'src/a.ts', line: 4, column: 8, message: expect.stringContaining('camelCase form `jobTitle`') },
      { rule: 6, file: 'src/a.ts', line: 4, column: 23, message: expect.stringContaining('exact name `job_title`') },
    ]);
  });

  it('skips lines that only name other columns, and lines silenced with a reason', () => {
    const head = [
      { path: 'src/a.ts', line: 1, text: 'const email = 1;' },
      { path: 'src/a.ts', line: 2, text: 'job_title // phasectl-ignore: the jobs API field' },
    ];
    expect(oldColumnReferenceViolations({ dropped, head })).toEqual([]);
  });

  it('does not accept an ignore comment without a reason', () => {
    const violations = oldColumnReferenceViolations({
      dropped,
      head: [{ path: 'src/a.ts', line: 2, text: 'job_title // phasectl-ignore' }],
    });
    expect(violations).toMatchObject([{ rule: 6, message: expect.stringContaining('has no reason') }]);
  });

  it('reports base hits only for files HEAD does not report, saying the previous release still runs them', () => {
    const violations = oldColumnReferenceViolations({
      dropped,
      head: [{ path: 'src/a.ts', line: 9, text: 'job_title' }],
      base: {
        label: 'main abc',
        hits: [
          { path: 'src/a.ts', line: 3, text: 'job_title' },
          { path: 'src/b.py', line: 5, text: 'x = "job_title"' },
        ],
      },
    });
    expect(violations.map((violation) => `${violation.file}:${violation.line}:${violation.column}`)).toEqual([
      'src/a.ts:9:1',
      'src/b.py:5:6',
    ]);
    expect(violations[1]?.message).toContain('only the base (main abc)');
  });
});

describe('rule 7: previous phase shipped', () => {
  it('names the tag from the pattern and refuses a pattern without *', () => {
    expect(releaseTagName('v*', '1.4.0')).toBe('v1.4.0');
    expect(releaseTagName('release/*', '1.4.0')).toBe('release/1.4.0');
    expect(() => releaseTagName('v', '1.4.0')).toThrow(InputError);
  });

  it('reports an added phase whose previous release has no tag, and only added phases when there is a base', () => {
    const head = ledger({ phase1: '1.4.0', phase2: '1.5.0', phase3: '1.6.0' });
    const base = ledger({ phase1: '1.4.0', phase2: '1.5.0' }).loaded.spec;
    const input = {
      head: head.loaded.spec,
      pattern: 'v*',
      phasesFile: 'phases.yaml',
      locate: head.loaded.locate,
      shallow: false,
    };
    expect(releaseTagViolations({ ...input, base, tags: new Set(['v1.4.0', 'v1.5.0']) })).toEqual([]);
    expect(releaseTagViolations({ ...input, base, tags: new Set(['v1.4.0']) })).toMatchObject([
      {
        rule: 7,
        changeId: 'users-title',
        line: lineOf(head.text, 'phase3:'),
        message: expect.stringContaining('release 1.5.0 has no tag v1.5.0'),
      },
    ]);
    expect(releaseTagViolations({ ...input, tags: new Set() }).map((violation) => violation.line)).toEqual([
      lineOf(head.text, 'phase2:'),
      lineOf(head.text, 'phase3:'),
    ]);
  });
});
