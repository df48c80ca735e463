import { describe, expect, test } from 'vitest';
import { initialPhasesText } from '../../src/commands/init.js';
import { defaultChangeId, parseColumnTarget } from '../../src/spec/column-target.js';
import { appendChange, recordPhaseRelease, toText } from '../../src/spec/edit.js';
import { parsePhasesText } from '../../src/spec/load.js';
import { usersJobTitleRename } from '../support/fixtures-changes.js';

const change = usersJobTitleRename({
  id: 'users-job-title-to-favourite-color',
  column: {
    constraints: [{ name: 'users_job_title_check', kind: 'check', definition: 'CHECK ((length(job_title) <= 200))' }],
  },
});

const userFile = `# top comment kept
version: 1   # trailing comment kept
check:
  # a comment inside check
  sourceGlobs: ["src/**/*.ts"]
changes: []
# comment at the end kept
`;

describe('edits keep comments and formatting', () => {
  test('appendChange writes the change in the fixed key order and keeps every comment', () => {
    const updated = appendChange(parsePhasesText(userFile, 'phases.yaml'), change);
    const text = toText(updated);
    for (const comment of [
      '# top comment kept',
      '# trailing comment kept',
      '# a comment inside check',
      '# comment at the end kept',
    ]) {
      expect(text).toContain(comment);
    }
    expect(updated.spec.changes).toEqual([change]);
    const keys = ['  - id:', '    rename:', '    column:', '    key:', '    releases:'].map((key) => text.indexOf(key));
    expect(keys.filter((position) => position <= 0)).toEqual([]);
    expect([...keys].sort((a, b) => a - b)).toEqual(keys);
    expect(text).toContain('definition: CREATE INDEX users_job_title_idx ON public.users USING btree (job_title)\n');
    // Deterministic: the same edit gives the same text.
    expect(toText(appendChange(parsePhasesText(userFile, 'phases.yaml'), change))).toBe(text);
  });

  test('recordPhaseRelease sets the phase and appends new releases to the top-level list, after version', () => {
    let loaded = appendChange(parsePhasesText(userFile, 'phases.yaml'), change);
    loaded = recordPhaseRelease(loaded, change.id, 1, '1.4.0');
    loaded = recordPhaseRelease(loaded, change.id, 2, '1.5');
    expect(loaded.spec.releases).toEqual(['1.4.0', '1.5']);
    expect(loaded.spec.changes[0]!.releases).toEqual({ phase1: '1.4.0', phase2: '1.5' });
    const text = toText(loaded);
    expect(text).toMatch(/^# top comment kept\nversion: 1 # trailing comment kept\nreleases: \[ 1\.4\.0, "1\.5" \]\n/);
    expect(text).toContain('# comment at the end kept');
    // A second recording of a known release does not duplicate it.
    const again = recordPhaseRelease(loaded, change.id, 3, '1.5');
    expect(again.spec.releases).toEqual(['1.4.0', '1.5']);
  });

  test('the init template is valid and keeps its commented example through an edit', () => {
    const text = toText(appendChange(parsePhasesText(initialPhasesText(), 'phases.yaml'), change));
    expect(text).toContain('#  - id: users-job-title-to-favourite-color');
    expect(parsePhasesText(text, 'phases.yaml').spec.changes).toHaveLength(1);
  });
});

describe('column targets', () => {
  test('parses table.column, schema.table.column and quoted parts', () => {
    expect(parseColumnTarget('users.job_title')).toEqual({ schema: 'public', table: 'users', column: 'job_title' });
    expect(parseColumnTarget('Billing.Invoices.Total')).toEqual({
      schema: 'billing',
      table: 'invoices',
      column: 'total',
    });
    expect(parseColumnTarget('"My Schema"."t.x".col')).toEqual({ schema: 'My Schema', table: 't.x', column: 'col' });
    expect(parseColumnTarget('"a""b".c')).toEqual({ schema: 'public', table: 'a"b', column: 'c' });
  });

  test('refuses malformed targets', () => {
    for (const bad of ['users', 'a.b.c.d', '"open.col', 'users.', '.x', '"a"b.c']) {
      expect(() => parseColumnTarget(bad), bad).toThrow(/cannot read column/);
    }
  });

  test('default ids are slugs of at most 40 characters', () => {
    expect(defaultChangeId('users', 'job_title', 'favourite_color')).toBe('users-job-title-to-favourite-color');
    expect(defaultChangeId('T.x', 'Ä b', 'c')).toBe('t-x-a-b-to-c');
    expect(defaultChangeId('a'.repeat(50), 'b', 'c')).toHaveLength(40);
  });
});
