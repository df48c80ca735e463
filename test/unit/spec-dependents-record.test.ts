import { describe, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { parsePhasesText } from '../../src/spec/load.js';
import { operationFor } from '../../src/operations/index.js';
import type { Change } from '../../src/spec/types.js';
import { viewFingerprint } from '../../src/dependents/views.js';

/**
 * Item 4 of issue 12: every record of what else uses the column sits under `dependents:`; views and generated columns
 * that older files kept under `column:` are read there too, and generate the same files.
 */
const DEFINITION = ' SELECT users.email FROM public.users;';
const VIEW = [
  '      - schema: public',
  '        name: user_emails',
  `        fingerprint: ${viewFingerprint({ definition: DEFINITION })}`,
  `        definition: "${DEFINITION}"`,
];

const file = (column: string[], dependents: string[]) =>
  [
    'version: 1',
    'changes:',
    '  - id: users-email',
    '    rename: { schema: public, table: users, from: email, to: contact_email }',
    '    column:',
    '      type: text',
    '      nullable: true',
    ...column,
    '    key: { columns: [id], types: [bigint] }',
    ...dependents,
    '',
  ].join('\n');

const parsed = (text: string): Change => parsePhasesText(text, 'phases.yaml').spec.changes[0]!;

describe('dependents: record', () => {
  test('views under column: (older files) are read into dependents, with no function record', () => {
    const older = parsed(file(['      views:', ...VIEW], []));
    expect(older.column).not.toHaveProperty('views');
    expect(older.dependents).toEqual({
      views: [expect.objectContaining({ name: 'user_emails' })],
      foreignKeys: [],
      triggers: [],
    });
    const newer = parsed(file([], ['    dependents:', '      views:', ...VIEW.map((line) => `  ${line}`)]));
    expect(newer).toEqual(older);
  });

  test('both places generate the same files: the view re-pointed, no function guard', () => {
    const older = parsed(file(['      views:', ...VIEW], []));
    const newer = parsed(file([], ['    dependents:', '      views:', ...VIEW.map((line) => `  ${line}`)]));
    const sql = (change: Change) =>
      ([1, 2, 3] as const).flatMap((phase) => {
        const { up, down } = operationFor(change).steps(change, phase);
        return [...up, ...down].map((step) => step.sql);
      });
    const contract = sql(newer).find((text) => text.includes('CREATE OR REPLACE VIEW'));
    expect(contract).toContain('contact_email AS email');
    expect(contract).not.toContain('function % still names it');
    expect(sql(newer)).toEqual(sql(older));
  });

  test('views recorded in both places are refused, at the older one', () => {
    let error: unknown;
    try {
      parsed(file(['      views:', ...VIEW], ['    dependents:', '      views:', ...VIEW.map((line) => `  ${line}`)]));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).message).toContain('`views` is recorded both under `column:` and under `dependents:`');
  });
});
