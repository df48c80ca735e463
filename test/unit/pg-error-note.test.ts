import { expect, test } from 'vitest';
import { describePgError } from '../../src/session/pg-error.js';

function pgFailure(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test('a missing function, type or relation says phasectl resolves names in pg_catalog only, and to schema-qualify', () => {
  for (const [code, message] of [
    ['42883', 'function to_cents(numeric) does not exist'],
    ['42704', 'type "mood" does not exist'],
    ['42P01', 'relation "audit_log" does not exist'],
  ]) {
    const text = describePgError(pgFailure(code!, message!));
    expect(text).toContain(message);
    expect(text).toContain('search_path = pg_catalog, pg_temp');
    expect(text).toMatch(/schema-qualify .* --up\/--down/);
  }
  expect(describePgError(pgFailure('22012', 'division by zero'))).not.toContain('search_path');
});
