import { expect, test } from 'vitest';
import { printable, reportError } from '../../src/cli/output.js';
import { InputError } from '../../src/errors.js';

test('escape sequences and other non-printing characters in printed errors are shown, not sent to the terminal', () => {
  expect(printable('table "evil\u001b[2Jname" has\u0007 no key\u2028x\u200b')).toBe(
    'table "evil\\u{1b}[2Jname" has\\u{7} no key\\u{2028}x\\u{200b}',
  );
  expect(printable('line one\n\tline two: café ✓')).toBe('line one\n\tline two: café ✓');
  const printed: string[] = [];
  const code = reportError(new InputError('no column "a\u001b]0;pwned\u0007" in users', { hint: 'fix it' }), {
    out: () => undefined,
    err: (text) => printed.push(text),
  });
  expect(code).toBe(2);
  expect(printed.join('')).toBe('error: no column "a\\u{1b}]0;pwned\\u{7}" in users\n  fix: fix it');
});

test("permission denied on phasectl's own schema says which role to run as", () => {
  const printed: string[] = [];
  const denied = Object.assign(new Error('permission denied for schema phasectl'), { code: '42501' });
  const code = reportError(denied, { out: () => undefined, err: (text) => printed.push(text) });
  expect(code).toBe(3);
  expect(printed.join('\n')).toContain('fix: run it as the role that owns schema phasectl (the migration role)');
  // Another permission error (the application's table) gets no such line.
  printed.length = 0;
  reportError(Object.assign(new Error('permission denied for table users'), { code: '42501' }), {
    out: () => undefined,
    err: (text) => printed.push(text),
  });
  expect(printed.join('\n')).not.toContain('fix:');
});
