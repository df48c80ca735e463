import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parsePhasesText } from '../../src/spec/load.js';

const change = (overrides: string[] = []) =>
  [
    '  - id: users-email',
    '    rename: { schema: public, table: users, from: email, to: contact_email }',
    '    column: { type: text, nullable: true }',
    '    key: { columns: [id], types: [bigint] }',
    ...overrides,
  ].join('\n');

function errorOf(text: string): InputError {
  try {
    parsePhasesText(text, 'phases.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(InputError);
    const inputError = error as InputError;
    return inputError;
  }
  throw new Error('expected an InputError');
}

describe('parsePhasesText', () => {
  test('fills the defaults and tags changes as renames', () => {
    const loaded = parsePhasesText(`version: 1\nchanges:\n${change()}\n`, 'phases.yaml');
    expect(loaded.spec.releases).toEqual([]);
    expect(loaded.spec.migrations).toEqual({ format: 'sql' });
    expect(loaded.spec.check.ignoreGlobs).toContain('db/**');
    expect(loaded.spec.changes[0]).toMatchObject({
      kind: 'rename',
      releases: {},
      column: { indexes: [], constraints: [] },
    });
    expect(loaded.locate(['changes', 0, 'key'])).toEqual({ line: 6, column: 10 });
  });

  test('malformed YAML points at the line and column of the syntax error', () => {
    const unclosed = errorOf('version: 1\nchanges:\n  - id: "unclosed\n');
    const syntaxHint =
      'fix the YAML syntax at this position (indentation, a missing ":" or an unclosed quote or bracket)';
    expect(unclosed.message).toBe('phases.yaml is not valid YAML: Missing closing "quote');
    expect(unclosed.hint).toBe(syntaxHint);
    // The string runs to the end of the file: the error is reported where it ends.
    expect(unclosed.location).toEqual({ file: 'phases.yaml', line: 4, column: 1 });
    const duplicate = errorOf('version: 1\nchanges: []\nversion: 1\n');
    expect(duplicate.message).toBe('phases.yaml is not valid YAML: Map keys must be unique');
    expect(duplicate.hint).toBe(syntaxHint);
    expect(duplicate.location).toEqual({ file: 'phases.yaml', line: 3, column: 1 });
  });

  test('an unknown key names the closest known key, at the key itself', () => {
    const error = errorOf(`version: 1\nchanges:\n${change(['    relases: {}'])}\n`);
    expect(error.message).toBe('unknown key "relases" in changes[0] (did you mean "releases"?)');
    expect(error.hint).toBe('rename it to "releases"');
    expect(error.location).toEqual({ file: 'phases.yaml', line: 7, column: 5 });
  });

  test('a duplicate id points at the second id', () => {
    const error = errorOf(
      `version: 1\nchanges:\n${change()}\n${change().replace('to: contact_email', 'to: mail').replace('from: email', 'from: other')}\n`,
    );
    expect(error.message).toBe('change id "users-email" is already used by changes[0]');
    expect(error.hint).toBe('give this change another id: ids are unique');
    expect(error.location).toEqual({ file: 'phases.yaml', line: 7, column: 9 });
  });

  test('a missing key points at its parent and says which key', () => {
    const error = errorOf(
      'version: 1\nchanges:\n  - id: a\n    rename: { schema: public, table: users, from: email, to: b }\n    column: { type: text, nullable: true }\n',
    );
    expect(error.message).toBe('missing key "key" in changes[0]');
    expect(error.location).toEqual({ file: 'phases.yaml', line: 3, column: 5 });
  });

  test('a bad release name points at the value', () => {
    const error = errorOf(`version: 1\nreleases: [1.4.0, "bad name"]\nchanges: []\n`);
    expect(error.message).toBe(
      'releases[1] "bad name" is not a release name: use letters, digits, ".", "_" and "-", starting with a letter or digit',
    );
    expect(error.location).toEqual({ file: 'phases.yaml', line: 2, column: 19 });
    const numeric = errorOf(`version: 1\nreleases: [1.4]\n`);
    expect(numeric.message).toBe('releases[0] is the number 1.4, not a release name');
    expect(numeric.hint).toBe('quote it: "1.4"');
    expect(numeric.location).toEqual({ file: 'phases.yaml', line: 2, column: 12 });
  });

  test('`to` equal to `from` is refused at `to`', () => {
    const error = errorOf(`version: 1\nchanges:\n${change().replace('contact_email', 'email')}\n`);
    expect(error.message).toBe('`to` is the same name as `from`');
    expect(error.hint).toBe('choose a new column name that differs from `from`');
    expect(error.location).toEqual({ file: 'phases.yaml', line: 4, column: 62 });
  });

  test('a 64-byte name is refused; 63 bytes is accepted', () => {
    const long = 'é'.repeat(32); // 64 bytes in UTF-8
    const error = errorOf(`version: 1\nchanges:\n${change().replace('contact_email', long)}\n`);
    expect(error.message).toMatch(/longer than 63 bytes, the longest name PostgreSQL keeps$/);
    expect(error.location).toEqual({ file: 'phases.yaml', line: 4, column: 62 });
    expect(() =>
      parsePhasesText(`version: 1\nchanges:\n${change().replace('contact_email', `${'é'.repeat(31)}x`)}\n`, 'p.yaml'),
    ).not.toThrow();
  });

  test('two changes of the same column, or to the same new name, are refused', () => {
    const second = change().replace('id: users-email', 'id: users-email-2').replace('to: contact_email', 'to: mail');
    const sameColumn = errorOf(`version: 1\nchanges:\n${change()}\n${second}\n`);
    expect(sameColumn.message).toBe('column email of public.users is already changed by "users-email"');
    expect(sameColumn.hint).toBe('finish the earlier change first (advance it to phase 3), then plan this one');
    expect(sameColumn.location).toEqual({ file: 'phases.yaml', line: 8, column: 51 });
    const sameTarget = change().replace('id: users-email', 'id: users-email-2').replace('from: email', 'from: mail');
    const sameName = errorOf(`version: 1\nchanges:\n${change()}\n${sameTarget}\n`);
    expect(sameName.message).toBe('column name contact_email on public.users is already used by change "users-email"');
    expect(sameName.location).toEqual({ file: 'phases.yaml', line: 8, column: 61 });
  });

  test('a recorded sync trigger name is one plan could write: zz…_phasectl_sync_ and lower-case letters, digits, _', () => {
    const recorded = (name: string) =>
      change().replace('to: contact_email }', `to: contact_email, syncTrigger: '${name}' }`);
    expect(() =>
      parsePhasesText(`version: 1\nchanges:\n${recorded('zzz_phasectl_sync_users_email')}\n`, 'p.yaml'),
    ).not.toThrow();
    for (const name of ['my_trigger', 'zzz_phasectl_sync_Users', 'zzz_phasectl_sync_ü', 'zzz_phasectl_sync_a~b']) {
      const error = errorOf(`version: 1\nchanges:\n${recorded(name)}\n`);
      expect(error.message).toMatch(/is not a phasectl sync trigger name/);
      expect(error.location?.line).toBe(4);
    }
  });

  test('a YAML merge key is named as such, not taken for a typo of another key', () => {
    const text = change().replace(
      '    rename: { schema: public, table: users, from: email, to: contact_email }',
      '    rename: { <<: { schema: public, table: users }, from: email, to: contact_email }',
    );
    const error = errorOf(`version: 1\nchanges:\n${text}\n`);
    expect(error.message).toMatch(
      /^a YAML merge key \(<<\) in changes\[0\]\.rename: phases.yaml takes no merge keys\n/,
    );
    expect(error.hint).toMatch(/^write the keys out/);
    expect(error.location?.line).toBe(4);
  });

  test('a bad id and a wrong version are refused with the rule', () => {
    const badId = errorOf(`version: 1\nchanges:\n${change().replace('users-email', 'Users_Email')}\n`);
    expect(badId.message).toBe(
      'changes[0].id "Users_Email" is not a change id: use lower-case letters, digits and "-", starting with a letter or digit',
    );
    expect(badId.location).toEqual({ file: 'phases.yaml', line: 3, column: 9 });
    const version = errorOf(`version: 2\n`);
    expect(version.message).toBe('version is 2, must be one of 1');
    expect(version.location).toEqual({ file: 'phases.yaml', line: 1, column: 10 });
  });
});
