import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { appendChange, changeToPlain, recordPhaseRelease, toText } from '../../src/spec/edit.js';
import { parsePhasesText, type LoadedPhases } from '../../src/spec/load.js';
import type { Change, MoveChange, RenameChange } from '../../src/spec/types.js';

/**
 * Edits skip the re-parse of the whole file when they can (src/spec/edit.ts). The result must be what the
 * re-parse gives: the same spec (same key order), the same text once saved, the same positions, and the
 * original left untouched.
 */

function rename(index: number, releases: RenameChange['releases'] = {}): RenameChange {
  return {
    kind: 'rename',
    id: `t${index}-title`,
    rename: { schema: 'public', table: `t${index}`, from: 'job_title', to: 'favourite_color' },
    column: {
      type: 'text',
      nullable: false,
      default: "'unknown'::text",
      indexes: [
        {
          name: `t${index}_job_title_idx`,
          unique: false,
          definition: `CREATE INDEX t${index}_job_title_idx ON public.t${index} USING btree (job_title)`,
        },
      ],
      constraints: [
        { name: `t${index}_job_title_check`, kind: 'check', definition: 'CHECK ((length(job_title) < 200))' },
      ],
    },
    key: { columns: ['id'], types: ['bigint'] },
    releases,
  };
}

function move(index: number): MoveChange {
  return {
    kind: 'move',
    id: `m${index}-address`,
    move: {
      from: { schema: 'public', table: `u${index}`, column: 'address' },
      to: { schema: 'public', table: `p${index}`, column: 'address' },
      on: [{ from: 'id', to: 'user_id' }],
    },
    column: { type: 'text', nullable: true, indexes: [], constraints: [] },
    key: { columns: ['id'], types: ['bigint'] },
    target: { existingColumn: false },
    releases: {},
  };
}

/** What the edit gave before the fast path: the edited document's text, parsed and validated again. */
function expectSameAsReparse(result: LoadedPhases): void {
  const written = toText(result);
  const reparsed = parsePhasesText(written, result.file);
  expect(toText(reparsed)).toBe(written);
  expect(result.text).toBe(written);
  expect(JSON.stringify(result.spec)).toBe(JSON.stringify(reparsed.spec));
  for (const path of [['changes', result.spec.changes.length - 1, 'releases'], ['releases'], ['changes', 0, 'id']]) {
    expect(result.locate(path)).toEqual(reparsed.locate(path));
  }
}

const blockFile = `# phases.yaml
version: 1 # the format
releases: [1.0.0]
changes:
  # the first change
  - id: a-title
    rename: { schema: public, table: a, from: job_title, to: favourite_color } # flow style
    column: { type: text, nullable: true, indexes: [], constraints: [] }
    key: { columns: [id], types: [bigint] }
    releases: { phase1: 1.0.0 }

  # a blank line and a comment before the second
  - id: b-title
    rename:
      schema: public
      table: b
      from: job_title
      to: favourite_color
    column:
      type: text # trailing
      nullable: false
      indexes: []
      constraints: []
    key: { columns: [id], types: [bigint] }
  - id: c-title
    rename: { schema: public, table: c, from: job_title, to: favourite_color }
    column: { type: text, nullable: true, indexes: [], constraints: [] }
    key: { columns: [id], types: [bigint] }
    releases:
      phase1: 1.0.0 # shipped
# the end
`;

const generated = toText(
  appendChange(appendChange(parsePhasesText('version: 1\nchanges: []\n', 'phases.yaml'), rename(0)), move(1)),
);

describe('edits without a re-parse give what a re-parse gives', () => {
  for (const [name, text] of [
    ['hand-written file with comments, blank lines and flow maps', blockFile],
    ['file written by phasectl', generated],
  ] as const) {
    test(`appendChange, then recordPhaseRelease (new and known releases): ${name}`, () => {
      const loaded = parsePhasesText(text, 'phases.yaml');
      const before = { text: toText(loaded), spec: JSON.stringify(loaded.spec) };
      let edited = appendChange(loaded, rename(7));
      expectSameAsReparse(edited);
      edited = appendChange(edited, move(8));
      expectSameAsReparse(edited);
      edited = recordPhaseRelease(edited, 't7-title', 1, '1.0.0');
      expectSameAsReparse(edited);
      edited = recordPhaseRelease(edited, 't7-title', 2, '1.1');
      expectSameAsReparse(edited);
      edited = recordPhaseRelease(edited, loaded.spec.changes[0]!.id, 2, '1.1');
      expectSameAsReparse(edited);
      edited = recordPhaseRelease(edited, 'm8-address', 1, '2.0.0-rc1');
      expectSameAsReparse(edited);
      if (loaded.spec.changes.some((change) => change.id === 'c-title')) {
        edited = recordPhaseRelease(edited, 'c-title', 2, '1.1');
        expectSameAsReparse(edited);
      }
      // The input is not changed by any of it.
      expect(toText(loaded)).toBe(before.text);
      expect(JSON.stringify(loaded.spec)).toBe(before.spec);
    });
  }

  test('an edit that breaks a rule is refused exactly as the full validation refuses it', () => {
    const loaded = parsePhasesText(blockFile, 'phases.yaml');
    const duplicate = { ...rename(9), id: 'a-title' };
    expect(() => appendChange(loaded, duplicate)).toThrow(/change id "a-title" is already used by changes\[0\]/);
    const sameColumn = { ...rename(9), rename: { ...rename(9).rename, table: 'b' } };
    expect(() => appendChange(loaded, sameColumn)).toThrow(
      /column job_title of public\.b is already changed by "b-title"/,
    );
    try {
      appendChange(loaded, duplicate);
    } catch (error) {
      expect((error as { location?: unknown }).location).toEqual({ file: 'phases.yaml', line: 31, column: 9 }); // the `id:` of the appended change
    }
    expect(() => recordPhaseRelease(loaded, 'b-title', 1, 'not a release!')).toThrow(/is not a release name/);
  });

  test('any comment placement: same text and spec as a re-parse (property)', () => {
    const lines = generated.trimEnd().split('\n');
    fc.assert(
      fc.property(
        fc.array(fc.record({ at: fc.nat(lines.length), trailing: fc.boolean(), indent: fc.boolean() }), {
          maxLength: 6,
        }),
        fc.constantFrom(...(['append', 'phase', 'release'] as const)),
        (comments, edit) => {
          const edited = [...lines];
          for (const comment of comments) {
            const at = Math.min(comment.at, edited.length - 1);
            if (comment.trailing) {
              if (!edited[at]!.includes('#') && !edited[at]!.endsWith(':'))
                edited[at] = `${edited[at]} # trailing ${at}`;
            } else {
              const indent = comment.indent ? (/^\s*/.exec(edited[at]!)?.[0] ?? '') : '';
              edited.splice(at, 0, `${indent}# comment ${at}`);
            }
          }
          let loaded: LoadedPhases;
          try {
            loaded = parsePhasesText(`${edited.join('\n')}\n`, 'phases.yaml');
          } catch {
            return; // a comment in a place YAML does not allow: nothing to compare
          }
          const result =
            edit === 'append'
              ? appendChange(loaded, rename(5))
              : edit === 'phase'
                ? recordPhaseRelease(loaded, 't0-title', 1, '1.0.0')
                : recordPhaseRelease(recordPhaseRelease(loaded, 't0-title', 1, '1.0.0'), 'm1-address', 1, '1.1.0');
          expectSameAsReparse(result);
        },
      ),
      { numRuns: 150 },
    );
  });

  test('a change whose strings hold line breaks still round-trips (taken through the full re-parse)', () => {
    const loaded = parsePhasesText(generated, 'phases.yaml');
    const odd: Change = { ...rename(3), column: { ...rename(3).column, default: "'a\nb'::text" } };
    const result = appendChange(loaded, odd);
    expectSameAsReparse(result);
    expect(result.spec.changes.at(-1)).toEqual(odd);
    expect(changeToPlain(result.spec.changes.at(-1)!)).toEqual(changeToPlain(odd));
  });
});
