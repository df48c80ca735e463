import { describe, expect, test } from 'vitest';
import { planAdvance } from '../../src/releases/advance.js';
import { ledgerViolations } from '../../src/releases/rules.js';
import { requireSoundLedger } from '../../src/releases/require-sound-ledger.js';
import { parsePhasesText } from '../../src/spec/load.js';
import type { PhaseReleases, PhasesFile, RenameChange } from '../../src/spec/types.js';

function rename(id: string, releases: PhaseReleases = {}): RenameChange {
  return {
    kind: 'rename',
    id,
    rename: { schema: 'public', table: 'users', from: `${id}_old`, to: `${id}_new` },
    column: { type: 'text', nullable: true, indexes: [], constraints: [] },
    key: { columns: ['id'], types: ['bigint'] },
    releases,
  };
}

function spec(releases: string[], ...changes: RenameChange[]): PhasesFile {
  return { version: 1, releases, migrations: { format: 'sql' }, check: { sourceGlobs: [], ignoreGlobs: [] }, changes };
}

describe('ledgerViolations', () => {
  test('a sound ledger has none', () => {
    expect(
      ledgerViolations(
        spec(
          ['1', '2', '3'],
          rename('a', { phase1: '1', phase2: '2', phase3: '3' }),
          rename('b', { phase1: '3' }),
          rename('c'),
        ),
      ),
    ).toEqual([]);
  });

  test('rule 1: a skipped phase', () => {
    const violations = ledgerViolations(spec(['1', '2'], rename('a', { phase2: '2' })));
    expect(violations).toMatchObject([{ rule: 1, changeId: 'a', path: ['changes', 0, 'releases', 'phase2'] }]);
    expect(violations[0]!.message).toContain('phase 1 has no release');
  });

  test('rule 2: two phases of one change in one release', () => {
    expect(ledgerViolations(spec(['1'], rename('x'), rename('a', { phase1: '1', phase2: '1' })))).toMatchObject([
      { rule: 2, changeId: 'a', path: ['changes', 1, 'releases', 'phase2'] },
    ]);
  });

  test('rule 1: a release missing from the list, or earlier than the previous phase', () => {
    expect(ledgerViolations(spec(['1'], rename('a', { phase1: '1', phase2: '9' })))).toMatchObject([
      { rule: 1, path: ['changes', 0, 'releases', 'phase2'] },
    ]);
    expect(
      ledgerViolations(spec(['2', '1'], rename('a', { phase1: '1', phase2: '2' }))).map(
        (violation) => violation.message,
      ),
    ).toEqual([expect.stringContaining('comes before 1 (phase 1)')]);
  });

  test('requireSoundLedger throws at the offending key in phases.yaml', () => {
    const loaded = parsePhasesText(
      [
        'version: 1',
        'releases: [1.4.0]',
        'changes:',
        '  - id: a',
        '    rename: { schema: public, table: t, from: a, to: b }',
        '    column: { type: text, nullable: true }',
        '    key: { columns: [id], types: [int] }',
        '    releases: { phase1: 1.4.0, phase2: 1.4.0 }',
        '',
      ].join('\n'),
      'phases.yaml',
    );
    expect(() => requireSoundLedger(loaded)).toThrow(/release rule 2 broken/);
    try {
      requireSoundLedger(loaded);
    } catch (error) {
      expect((error as { location: unknown }).location).toEqual({ file: 'phases.yaml', line: 8, column: 32 });
    }
  });
});

describe('planAdvance', () => {
  test('every in-flight change moves one phase; finished ones stay', () => {
    const outcome = planAdvance(
      spec(
        ['1', '2', '3'],
        rename('done', { phase1: '1', phase2: '2', phase3: '3' }),
        rename('a', { phase1: '2' }),
        rename('b'),
      ),
      '4',
    );
    expect(outcome).toEqual({
      kind: 'advance',
      release: '4',
      moves: [
        { changeId: 'a', from: 1, to: 2 },
        { changeId: 'b', from: 0, to: 1 },
      ],
    });
  });

  test('refuses a second phase of a change in the same release, suggesting --change for new ones', () => {
    const outcome = planAdvance(spec(['1'], rename('a', { phase1: '1' }), rename('b')), '1');
    expect(outcome).toMatchObject({ kind: 'refused', changeId: 'a' });
    if (outcome.kind !== 'refused') throw new Error('expected a refusal');
    expect(outcome.message).toContain('shipped phase 1 in release 1');
    expect(outcome.hint).toContain('--change b');
    expect(planAdvance(spec(['1'], rename('a', { phase1: '1' }), rename('b')), '1', { changeId: 'b' })).toMatchObject({
      kind: 'advance',
      moves: [{ changeId: 'b', to: 1 }],
    });
  });

  test('refuses an older release, an unknown --change and a change at phase 3', () => {
    expect(planAdvance(spec(['1', '2'], rename('a', { phase1: '1', phase2: '2' })), '1')).toMatchObject({
      kind: 'refused',
      message: expect.stringContaining('comes before 2'),
    });
    expect(planAdvance(spec([], rename('a')), '1', { changeId: 'nope' })).toMatchObject({
      kind: 'refused',
      hint: 'use one of: a',
    });
    expect(
      planAdvance(spec(['1', '2', '3'], rename('a', { phase1: '1', phase2: '2', phase3: '3' })), '4', {
        changeId: 'a',
      }),
    ).toMatchObject({
      kind: 'refused',
      message: expect.stringContaining('already at phase 3'),
    });
  });

  test('nothing to advance is not an error', () => {
    expect(planAdvance(spec([]), '1')).toMatchObject({ kind: 'nothing' });
    expect(
      planAdvance(spec(['1', '2', '3'], rename('a', { phase1: '1', phase2: '2', phase3: '3' })), '4'),
    ).toMatchObject({ kind: 'nothing' });
  });
});

// Each refusal says what is wrong and what to do: the hints are part of the contract (mutation testing
// found them unchecked, docs/mutation-testing.md).
describe('release rule messages and hints', () => {
  test('rule 1: a skipped phase names the missing phase and how to fix it', () => {
    expect(ledgerViolations(spec(['1', '2'], rename('a', { phase2: '2' })))).toEqual([
      {
        rule: 1,
        changeId: 'a',
        message: 'change "a": phase 2 is recorded in 2 but phase 1 has no release: phases go 1 → 2 → 3, none skipped',
        hint: 'remove phase2, or record phase1; releases are written by `phasectl advance`, not by hand',
        path: ['changes', 0, 'releases', 'phase2'],
      },
    ]);
  });

  test('rule 2: two phases in one release', () => {
    expect(ledgerViolations(spec(['1'], rename('a', { phase1: '1', phase2: '1' })))).toEqual([
      {
        rule: 2,
        changeId: 'a',
        message: 'change "a": phases 1 and 2 are both in release 1: one release holds at most one phase of a change',
        hint: 'ship phase 2 in a later release: remove phase2 and run `phasectl advance --release <next release>` then',
        path: ['changes', 0, 'releases', 'phase2'],
      },
    ]);
  });

  test('rule 1: a release missing from the list is reported as missing, not as out of order', () => {
    expect(ledgerViolations(spec(['1'], rename('a', { phase1: '1', phase2: '9' })))).toEqual([
      {
        rule: 1,
        changeId: 'a',
        message: 'change "a": phase 2 is in release 9, which is not in the top-level releases list',
        hint: 'add 9 to `releases:` in order, or let `phasectl advance` record it',
        path: ['changes', 0, 'releases', 'phase2'],
      },
    ]);
  });

  test('rule 1: a phase in an earlier release than the phase before', () => {
    expect(ledgerViolations(spec(['2', '1'], rename('a', { phase1: '1', phase2: '2' })))).toEqual([
      {
        rule: 1,
        changeId: 'a',
        message: 'change "a": phase 2 is in release 2, which comes before 1 (phase 1) in the releases list',
        hint: 'each phase ships in a later release than the phase before; fix the order of `releases:` or of the phase releases',
        path: ['changes', 0, 'releases', 'phase2'],
      },
    ]);
  });

  test('requireSoundLedger: silent on a sound ledger, counts the violations after the first', () => {
    const load = (releases: string) =>
      parsePhasesText(
        [
          'version: 1',
          'releases: [1.4.0]',
          'changes:',
          '  - id: a',
          '    rename: { schema: public, table: t, from: a, to: b }',
          '    column: { type: text, nullable: true }',
          '    key: { columns: [id], types: [int] }',
          `    releases: ${releases}`,
          '',
        ].join('\n'),
        'phases.yaml',
      );
    expect(() => requireSoundLedger(load('{ phase1: 1.4.0 }'))).not.toThrow();
    expect(() => requireSoundLedger(load('{ phase1: 1.4.0, phase2: 1.4.0 }'))).toThrow(
      /^release rule 2 broken: change "a": phases 1 and 2 are both in release 1\.4\.0: one release holds at most one phase of a change$/,
    );
    expect(() => requireSoundLedger(load('{ phase1: 1.4.0, phase2: 1.4.0, phase3: 1.4.0 }'))).toThrow(
      / \(and 1 more\)$/,
    );
  });
});

describe('planAdvance messages and hints', () => {
  test('an older release', () => {
    expect(planAdvance(spec(['1', '2'], rename('a', { phase1: '1', phase2: '2' })), '1')).toEqual({
      kind: 'refused',
      release: '1',
      message: 'release 1 comes before 2 in phases.yaml: phases are only added to the latest release or a new one',
      hint: 'pass the release you are preparing now, e.g. --release 2 or a new one after it',
    });
  });

  test('an unknown --change, with and without changes to choose from', () => {
    expect(planAdvance(spec([], rename('a'), rename('b')), '1', { changeId: 'nope' })).toEqual({
      kind: 'refused',
      release: '1',
      changeId: 'nope',
      message: 'no change "nope" in phases.yaml',
      hint: 'use one of: a, b',
    });
    expect(planAdvance(spec([]), '1', { changeId: 'nope' })).toMatchObject({
      hint: 'declare it first with `phasectl plan rename …`',
    });
  });

  test('a change at phase 3', () => {
    expect(
      planAdvance(spec(['1', '2', '3'], rename('a', { phase1: '1', phase2: '2', phase3: '3' })), '4', {
        changeId: 'a',
      }),
    ).toMatchObject({
      hint: 'leave it in phases.yaml (its migrations have shipped); advance other changes without --change',
    });
  });

  test('nothing to advance says why', () => {
    expect(planAdvance(spec([]), '1')).toEqual({
      kind: 'nothing',
      release: '1',
      message: 'no changes in phases.yaml: plan one with `phasectl plan rename …`',
    });
    expect(planAdvance(spec(['1', '2', '3'], rename('a', { phase1: '1', phase2: '2', phase3: '3' })), '4')).toEqual({
      kind: 'nothing',
      release: '4',
      message: 'every change is at phase 3: nothing to advance',
    });
  });

  test('a second phase in one release: --change is suggested only for changes not started, and not under --change', () => {
    const refusal = (outcome: ReturnType<typeof planAdvance>) => (outcome.kind === 'refused' ? outcome : undefined);
    const nextRelease = 'run `phasectl advance --release <next release>` when preparing the next release';
    // b is at phase 1 like a: advancing it alone would hit the same refusal, so it is not suggested.
    expect(
      refusal(planAdvance(spec(['1'], rename('a', { phase1: '1' }), rename('b', { phase1: '1' })), '1')),
    ).toMatchObject({
      message: 'change "a" shipped phase 1 in release 1; phase 2 must ship in a later release',
      hint: nextRelease,
    });
    expect(refusal(planAdvance(spec(['1'], rename('a', { phase1: '1' }), rename('b')), '1'))?.hint).toBe(
      'advance only the new changes now (e.g. --change b), and "a" with the next release',
    );
    expect(
      refusal(planAdvance(spec(['1'], rename('a', { phase1: '1' }), rename('b')), '1', { changeId: 'a' }))?.hint,
    ).toBe(nextRelease);
  });
});
