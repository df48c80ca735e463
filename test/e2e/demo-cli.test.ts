import { readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';

/** `phasectl demo` as a user runs it (`node bin/phasectl.js`): embedded PostgreSQL, three releases under writes, then a row-by-row check. */
function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return phasectl(args, { env });
}

const demoDirs = () => readdirSync(tmpdir()).filter((name) => name.startsWith('phasectl-demo-'));

test('the demo renames a column under live writes, loses none, and removes what it created', async () => {
  const before = new Set(demoDirs());
  // The user's libpq variables must not reach the embedded server (PGPORT="" once broke initdb).
  const { code, stdout, stderr } = await runCli(['demo', '--rows', '20000'], {
    NO_COLOR: '',
    PGPORT: '',
    PGHOST: 'nowhere.invalid',
    PGDATA: '/nonexistent',
  });
  expect(stderr).toBe('');
  expect(stdout).toMatch(/writes lost: 0\b/);
  expect(stdout).toMatch(/failed writes:\s+0\b/);
  expect(code).toBe(0);
  // Each release was advanced and migrated, and the last one dropped job_title.
  for (const release of ['1.4.0', '1.5.0', '1.6.0']) expect(stdout).toContain(`phasectl advance --release ${release}`);
  expect(stdout).toContain('public.users now has columns: id, email, created_at, favourite_color');
  expect(stdout).toMatch(/writes made:\s+[1-9][\d,]* \(.*old app [1-9][\d,]*, new app [1-9][\d,]*\)/);
  expect(stdout).toMatch(/longest lock held:\s+\d[\d,]* ms \(\S+\.up\.sql\)/);
  expect(stdout).toMatch(/backfill rate:\s+[1-9][\d,]* rows\/s/);
  // Not a terminal: no colour codes, no bar redrawn with \r.
  expect(stdout).not.toContain('\u001b[');
  expect(stdout).not.toContain('\r');
  expect(demoDirs().filter((name) => !before.has(name))).toEqual([]);
}, 90_000);

test('a bad --rows is refused as usage (exit 2) before any server starts', async () => {
  const { code, stderr } = await runCli(['demo', '--rows', '0']);
  expect(code).toBe(2);
  expect(stderr).toMatch(/--rows 0 is out of range/);
  expect(stderr).toMatch(/fix: /);
});

test('--version and -V print the package version', async () => {
  const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const { code, stdout } = await runCli([flag]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(version);
  }
});
