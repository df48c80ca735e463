import { describe, expect, it } from 'vitest';
import { migrationNumber, migrationNumberWarnings } from '../../src/check/rules/migration-numbers.js';
import { guardName } from '../../src/runner/guard-refusals.js';
import { parsePhasesText } from '../../src/spec/load.js';

const change = (id: string, table: string, releases = '{ phase1: 1.0.0, phase2: 1.1.0, phase3: 1.2.0 }') => `
  - id: ${id}
    rename: { schema: public, table: ${table}, from: a, to: b }
    column: { type: text, nullable: true }
    key: { columns: [id], types: [bigint] }
    releases: ${releases}`;

describe('archived changes in phases.yaml', () => {
  it('are loaded apart from the live ones, and their columns are free for a new change', () => {
    const text = `version: 1\nreleases: [1.0.0, 1.1.0, 1.2.0]\nchanges:${change('again', 'users', '{}').replace('from: a, to: b', 'from: b, to: c')}\narchived:${change('done', 'users')}\n`;
    const { spec } = parsePhasesText(text, 'phases.yaml');
    expect(spec.changes.map((c) => c.id)).toEqual(['again']);
    expect(spec.archived?.map((c) => c.id)).toEqual(['done']);
  });

  it('share one id space with the live changes', () => {
    const text = `version: 1\nreleases: [1.0.0, 1.1.0, 1.2.0]\nchanges:${change('same', 'orders', '{}')}\narchived:${change('same', 'users')}\n`;
    expect(() => parsePhasesText(text, 'phases.yaml')).toThrow(/change id "same" is already used by changes\[0\]/);
  });
});

describe('migration numbers', () => {
  it('reads the number up to the first underscore', () => {
    expect(migrationNumber('002_1.5.0_x_p2_01_verify.up.sql')).toBe('002');
    expect(migrationNumber('002a_seed.sql')).toBe('002a');
    expect(migrationNumber('seed.sql')).toBeUndefined();
  });

  it('warns about a hand-written file numbered like a generated one or another hand-written one, not about letters after the number', () => {
    const files = [
      'db/migrations/001_1.0.0_users-x_p1_01_expand.up.sql',
      'db/migrations/001_1.0.0_users-x_p1_01_shrink.down.sql',
      'db/migrations/001_fix.sql',
      'db/migrations/001a_ok.sql',
      'db/migrations/007_a.sql',
      'db/migrations/007_b.sql',
      'db/migrations/sub/001_nested.sql',
      'db/functions/001_x.sql',
    ];
    expect(migrationNumberWarnings(files, 'db/migrations').map((warning) => [warning.file, warning.message])).toEqual([
      [
        'db/migrations/001_fix.sql',
        expect.stringContaining(
          "also used by phasectl's files of that release (001_1.0.0_users-x_p1_01_expand.up.sql, …)",
        ),
      ],
      ['db/migrations/007_a.sql', expect.stringContaining('also used by 007_b.sql')],
      ['db/migrations/007_b.sql', expect.stringContaining('also used by 007_a.sql')],
    ]);
  });
});

describe('guard names', () => {
  it('names the guards of the generated files by their messages, others by their step', () => {
    expect(guardName('phasectl: change x cannot switch to phase 2: its backfill has not finished', 'switch')).toBe(
      'backfill-finished',
    );
    expect(
      guardName(
        'phasectl: change x cannot contract (phase 3): no verification since phase 2 found 0 differing rows',
        'contract',
      ),
    ).toBe('verified');
    expect(guardName('phasectl: change x cannot contract (phase 3): phase 2 is not applied', 'contract')).toBe(
      'phase-2-applied',
    );
    expect(
      guardName(
        'phasectl: change x cannot add "title" to "public"."users": function public.audit() writes the whole row of "public"."users" into another table by position',
        'expand',
      ),
    ).toBe('whole-row');
    expect(
      guardName(
        'phasectl: change x cannot drop "job_title": function public.f() maps the columns of "public"."users" by position',
        'contract',
      ),
    ).toBe('column-order');
    expect(
      guardName(
        'phasectl: change x cannot drop job_title: it is used by policy p on table public.users (DROP COLUMN would fail on it); nothing was changed',
        'unsync',
      ),
    ).toBe('column-dependents');
    expect(
      guardName(
        'phasectl: change x cannot drop job_title: it is used by statistics object public.s (DROP COLUMN would drop it); nothing was changed',
        'contract',
      ),
    ).toBe('column-dependents');
    expect(guardName('phasectl: something new', 'contract')).toBe('contract step');
  });
});
