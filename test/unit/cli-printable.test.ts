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
