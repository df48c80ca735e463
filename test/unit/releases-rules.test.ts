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
    expect(ledgerViolations(spec(['1', '2', '3'], rename('a', { phase1: '1', phase2: '2', phase3: '3' }), rename('b', { phase1: '3' }), rename('c')))).toEqual([]);
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
    expect(ledgerViolations(spec(['1'], rename('a', { phase1: '1', phase2: '9' })))).toMatchObject([{ rule: 1, path: ['changes', 0, 'releases', 'phase2'] }]);
    expect(ledgerViolations(spec(['2', '1'], rename('a', { phase1: '1', phase2: '2' }))).map((violation) => violation.message)).toEqual([
      expect.stringContaining('comes before 1 (phase 1)'),
    ]);
  });

  test('requireSoundLedger throws at the offending key in phases.yaml', () => {
    const loaded = parsePhasesText(
      ['version: 1', 'releases: [1.4.0]', 'changes:', '  - id: a', '    rename: { schema: public, table: t, from: a, to: b }', '    column: { type: text, nullable: true }', '    key: { columns: [id], types: [int] }', '    releases: { phase1: 1.4.0, phase2: 1.4.0 }', ''].join('\n'),
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
    const outcome = planAdvance(spec(['1', '2', '3'], rename('done', { phase1: '1', phase2: '2', phase3: '3' }), rename('a', { phase1: '2' }), rename('b')), '4');
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
    expect(planAdvance(spec(['1'], rename('a', { phase1: '1' }), rename('b')), '1', { changeId: 'b' })).toMatchObject({ kind: 'advance', moves: [{ changeId: 'b', to: 1 }] });
  });

  test('refuses an older release, an unknown --change and a change at phase 3', () => {
    expect(planAdvance(spec(['1', '2'], rename('a', { phase1: '1', phase2: '2' })), '1')).toMatchObject({ kind: 'refused', message: expect.stringContaining('comes before 2') });
    expect(planAdvance(spec([], rename('a')), '1', { changeId: 'nope' })).toMatchObject({ kind: 'refused', hint: 'use one of: a' });
    expect(planAdvance(spec(['1', '2', '3'], rename('a', { phase1: '1', phase2: '2', phase3: '3' })), '4', { changeId: 'a' })).toMatchObject({
      kind: 'refused',
      message: expect.stringContaining('already at phase 3'),
    });
  });

  test('nothing to advance is not an error', () => {
    expect(planAdvance(spec([]), '1')).toMatchObject({ kind: 'nothing' });
    expect(planAdvance(spec(['1', '2', '3'], rename('a', { phase1: '1', phase2: '2', phase3: '3' })), '4')).toMatchObject({ kind: 'nothing' });
  });
});
