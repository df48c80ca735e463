import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { dollarTag, renderTemplate } from '../../src/render/environment.js';
import { qualify, quoteIdent, quoteLiteral } from '../../src/render/quote.js';

test('quoting', () => {
  expect(quoteIdent('job_title')).toBe('"job_title"');
  expect(quoteIdent('a"b')).toBe('"a""b"');
  expect(quoteLiteral("it's")).toBe("'it''s'");
  expect(quoteLiteral('a\\b')).toBe(" E'a\\\\b'");
  expect(qualify('Ünï "S"', 'My Table; DROP')).toBe('"Ünï ""S"""."My Table; DROP"');
});

test('dollarTag avoids tags the body contains', () => {
  expect(dollarTag('p', 'x')).toBe('$p$');
  expect(dollarTag('p', 'x $p$ y')).toBe('$p_2$');
});

test('user templates override the package ones file by file; strict mode refuses a missing field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phasectl-templates-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'demo'));
  writeFileSync(
    join(dir, 'demo', 'hello.sql.hbs'),
    'SELECT {{literal text}} FROM {{qualify schema table}} {{#dollarQuote "q"}}{{ident name}}{{/dollarQuote}};',
  );
  expect(renderTemplate('demo', 'hello', { text: "it's", schema: 's', table: 't', name: 'n' }, dir)).toBe(
    `SELECT 'it''s' FROM "s"."t" $q$"n"$q$;`,
  );
  expect(() => renderTemplate('demo', 'hello', { text: 'x' }, dir)).toThrow(/qualify needs a string/);
  writeFileSync(join(dir, 'demo', 'plain.sql.hbs'), 'SELECT {{typo}};');
  expect(() => renderTemplate('demo', 'plain', {}, dir)).toThrow(/typo/);
  expect(() => renderTemplate('demo', 'missing', {}, dir)).toThrow(/demo\/missing\.sql\.hbs not found/);
});
