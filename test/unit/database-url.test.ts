import { describe, expect, test } from 'vitest';
import { checkDatabaseUrl, redactUrl } from '../../src/db/url.js';
import { redactSecrets } from '../../src/cli/output.js';
import { withoutPasswords } from '../../src/fleet/summary.js';

// Generated passwords hold `/`, `?` and `#`; written unencoded, they make the URL unparseable (or cut it short at `#`).
const unencoded = [
  'postgres://app:ab#cd-hunter2@db.example:5432/app',
  'postgres://app:s3cr/et-hunter2@db.example:5432/app',
  'postgres://app:se?cret-hunter2@db.example:5432/app',
  'postgresql://app:1234#hunter2@db.example:5432/app',
  'postgres://app:a@b/c?d#e-hunter2@db.example:5432/app?sslmode=require',
];

describe('a password written unencoded in the database URL', () => {
  test.each(unencoded)('is never printed: %s', (url) => {
    expect(redactUrl(url)).not.toContain('hunter2');
    expect(redactSecrets(`error: "${url}"`)).not.toContain('hunter2');
    expect(withoutPasswords(`error: ${url}`)).not.toContain('hunter2');
    let message = '';
    try {
      checkDatabaseUrl(url);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/is not a PostgreSQL URL/);
    expect(message).not.toContain('hunter2');
    expect(message).toContain('***@db.example');
  });

  test('parseable URLs keep their redaction', () => {
    expect(redactUrl('postgres://app:hunter2@db.example/app')).toBe('postgres://app:***@db.example/app');
    expect(redactUrl('postgres://app@db.example/app?password=hunter2')).toBe(
      'postgres://app@db.example/app?password=***',
    );
    expect(redactUrl('host=db password=hunter2 user=app')).toBe('host=db password=*** user=app');
    expect(checkDatabaseUrl('postgres://app:a%23b%2Fc@db.example/app')).toBe('postgres://app:a%23b%2Fc@db.example/app');
  });
});
