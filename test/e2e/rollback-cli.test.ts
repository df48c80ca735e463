import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { useColor } from '../../src/terminal/color.js';
import { phasectl, phasectlBin } from '../support/cli.js';
import { phasectlProcess } from '../support/cli-process.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithProject } from '../support/test-project.js';

/**
 * Issue 18 items 10 and 16: `rollback --dry-run` lists what would run and changes nothing; a real rollback asks on
 * a terminal and, without one, needs --yes (exit 2, nothing changed); colour only on a terminal, never with NO_COLOR.
 */
const cleanups = cleanupsAfterAll();
let url: string;
let dir: string;
const ESC = '\u001b[';

beforeAll(async () => {
  ({ url, dir } = await databaseWithProject(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text);
                    INSERT INTO public.users SELECT g, 'title ' || g FROM generate_series(1, 500) g;`,
    'phasectl-rollback-ux-',
  ));
  const steps = [
    ['plan', 'rename', 'users.job_title', 'favourite_color', '--id', 'users-rename'],
    ['advance', '--release', '1.0.0'],
    ['migrate'],
  ];
  for (const args of steps) {
    const result = await cli(args);
    expect(result.stderr, args.join(' ')).toBe('');
    expect(result.code, args.join(' ')).toBe(0);
  }
});

function cli(args: string[], env: Record<string, string | undefined> = {}) {
  return phasectlProcess(dir, args, { DATABASE_URL: url, ...env });
}

/** The schema and phasectl's state, to show that nothing changed. */
async function snapshot() {
  return {
    columns: await query(
      url,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY column_name`,
    ),
    triggers: await query(
      url,
      `SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.users'::regclass AND NOT tgisinternal ORDER BY tgname`,
    ),
    migrations: await query(url, `SELECT name FROM phasectl.migrations ORDER BY name`),
    runs: await query(url, `SELECT count(*)::int AS n FROM phasectl.migration_runs`).catch(() => 'no runs table'),
  };
}

const downFiles = async () =>
  (await import('node:fs/promises'))
    .readdir(join(dir, 'db/migrations'))
    .then((names) => names.filter((name) => name.includes('_1.0.0_') && name.endsWith('.down.sql')).sort());

describe('rollback --dry-run and confirmation', () => {
  test('--dry-run lists the down files in order with their SQL and changes nothing', async () => {
    const before = await snapshot();
    expect(before.columns).toEqual([
      { column_name: 'favourite_color' },
      { column_name: 'id' },
      { column_name: 'job_title' },
    ]);
    const downs = await downFiles();
    expect(downs.length).toBeGreaterThan(0);

    const dry = await cli(['rollback', '--release', '1.0.0', '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('rolling back phase 1 of users-rename');
    const positions = downs.map((name) => dry.stdout.indexOf(`-- ${name}`));
    expect(positions.every((at) => at >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions); // listed in the order they run
    expect(dry.stdout).toMatch(/DROP COLUMN IF EXISTS "favourite_color"/);
    expect(dry.stdout).toContain(
      `dry run: rolling back release 1.0.0 would run ${downs.length} down file(s); nothing changed`,
    );
    expect(dry.stdout).not.toContain(ESC); // not a terminal: no colour
    expect(await snapshot()).toEqual(before);

    const json = await cli(['rollback', '--release', '1.0.0', '--dry-run', '--json'], { FORCE_COLOR: '1' });
    expect(json.code).toBe(0);
    expect(json.stdout).not.toContain(ESC); // JSON is never coloured
    expect(json.stdout.split('\n').filter((line) => line.includes('"file-dry-run"'))).toHaveLength(downs.length);
  }, 120_000);

  test('--dry-run of a release that is not the newest applied is refused like the real rollback', async () => {
    const result = await cli(['rollback', '--release', '0.9.0', '--dry-run']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('release 0.9.0 has no applied migrations in this database');
  });

  test('without a terminal and without --yes: exit 2, says to pass --yes, nothing changed', async () => {
    const before = await snapshot();
    const refused = await cli(['rollback', '--release', '1.0.0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('rollback of release 1.0.0 not confirmed: stdin is not a terminal');
    expect(refused.stderr).toContain('pass --yes');
    expect(refused.stderr).not.toContain(ESC);
    expect(await snapshot()).toEqual(before);
  });

  test('on a terminal it asks; "n" cancels and changes nothing', async () => {
    const before = await snapshot();
    const answer = await inTerminal(['rollback', '--release', '1.0.0'], 'n\n');
    expect(answer.output).toMatch(/roll back release 1\.0\.0 on [^ ]+:\d+\/[^ :]+: \d+ down file\(s\) listed above/);
    expect(answer.output).toContain('phase 1 of users-rename (drops what phase 1 added');
    expect(answer.output).not.toMatch(/postgres:\/\//); // no URL, so never a password
    expect(answer.output).toContain('rollback cancelled: nothing changed');
    expect(answer.code).toBe(1);
    expect(await snapshot()).toEqual(before);
  }, 60_000);

  test('with --yes it rolls back without asking', async () => {
    const result = await cli(['rollback', '--release', '1.0.0', '--yes']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('rolled back release 1.0.0');
    expect(
      await query(
        url,
        `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY column_name`,
      ),
    ).toEqual([{ column_name: 'id' }, { column_name: 'job_title' }]);
    expect(await query(url, `SELECT count(*)::int AS n FROM phasectl.migrations`)).toEqual([{ n: 0 }]);
  }, 120_000);
});

describe('colour', () => {
  test('the decision: a terminal and no NO_COLOR; FORCE_COLOR without a terminal', () => {
    expect(useColor({ isTTY: true }, {})).toBe(true);
    expect(useColor({ isTTY: false }, {})).toBe(false);
    expect(useColor({}, {})).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(useColor({ isTTY: true }, { NO_COLOR: 'false' })).toBe(false); // any value
    expect(useColor({ isTTY: true }, { NO_COLOR: '' })).toBe(true); // empty means unset (no-color.org)
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(useColor({ isTTY: false }, { FORCE_COLOR: '0' })).toBe(false);
    expect(useColor({ isTTY: true }, { FORCE_COLOR: '1', NO_COLOR: '1' })).toBe(false);
  });

  test('errors: red "error:" on a terminal, plain with NO_COLOR and without a terminal', async () => {
    const coloured = await inTerminal(['rollback', '--release', '7.7.7', '--yes'], '');
    expect(coloured.code).toBe(2);
    expect(coloured.output).toContain(`${ESC}31m${ESC}1merror:`);

    const noColor = await inTerminal(['rollback', '--release', '7.7.7', '--yes'], '', { NO_COLOR: '1' });
    expect(noColor.code).toBe(2);
    expect(noColor.output).toContain('error: release 7.7.7');
    expect(noColor.output).not.toContain(ESC);

    const piped = await cli(['rollback', '--release', '7.7.7', '--yes']);
    expect(piped.stderr).toContain('error: release 7.7.7');
    expect(piped.stderr).not.toContain(ESC);
  }, 60_000);

  test('check and verify: green ok on a terminal, no escape codes with NO_COLOR, never in --json', async () => {
    // check on this repository (clean), FORCE_COLOR standing in for a terminal.
    const checkForced = await phasectl(['check', '--base', 'HEAD'], { env: { FORCE_COLOR: '1' } });
    expect(checkForced.stdout).toContain(`${ESC}32mcheck: ok`);
    const checkPlain = await phasectl(['check', '--base', 'HEAD'], { env: { FORCE_COLOR: '1', NO_COLOR: '1' } });
    expect(checkPlain.stdout + checkPlain.stderr).not.toContain(ESC);
    expect(checkPlain.stdout).toContain('check: ok');
    expect(checkPlain.code).toBe(0);
    const checkJson = await phasectl(['check', '--base', 'HEAD', '--format', 'json'], { env: { FORCE_COLOR: '1' } });
    expect(checkJson.code).toBe(0);
    expect(checkJson.stdout).not.toContain(ESC);

    expect((await cli(['migrate'])).code).toBe(0); // re-apply what the rollback above undid
    const verify = await inTerminal(['verify', 'users-rename'], '');
    expect(verify.output).toContain(`users-rename: ${ESC}32m0 differing row(s)`);
    const verifyPlain = await inTerminal(['verify', 'users-rename'], '', { NO_COLOR: 'yes' });
    expect(verifyPlain.output).toContain('users-rename: 0 differing row(s)');
    expect(verifyPlain.output).not.toContain(ESC);
  }, 60_000);
});

test('on a terminal, "y" rolls back', async () => {
  expect((await cli(['migrate'])).code).toBe(0); // applied (again) whatever ran before
  expect(await query(url, `SELECT count(*)::int AS n FROM phasectl.migrations`)).not.toEqual([{ n: 0 }]);
  const answer = await inTerminal(['rollback', '--release', '1.0.0'], 'y\n');
  expect(answer.output).toContain('[y/N]');
  expect(answer.output).toContain('rolled back release 1.0.0');
  expect(answer.code).toBe(0);
  expect(await query(url, `SELECT count(*)::int AS n FROM phasectl.migrations`)).toEqual([{ n: 0 }]);
}, 60_000);

/**
 * Runs the built CLI on a pseudo-terminal (util-linux `script`), feeding `input` to it. Output is stdout and stderr
 * together, as the terminal shows them.
 */
async function inTerminal(
  args: string[],
  input: string,
  env: Record<string, string> = {},
): Promise<{ code: number; output: string }> {
  const command = [process.execPath, phasectlBin, ...args].map((word) => `'${word.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = execFile('script', ['-qec', command, '/dev/null'], {
    cwd: dir,
    env: terminalEnv(env),
  });
  let output = '';
  let answered = false;
  // Answer once the prompt is on the terminal (script forwards its stdin to it); a command that asks nothing
  // gets no input and its stdin stays open until it exits, as on a terminal nobody types into.
  const answerAtPrompt = () => {
    if (answered || !input || !output.includes('[y/N]')) return;
    answered = true;
    child.stdin!.end(input);
  };
  child.stdout!.on('data', (chunk) => ((output += String(chunk)), answerAtPrompt()));
  child.stderr!.on('data', (chunk) => ((output += String(chunk)), answerAtPrompt()));
  const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? -1)));
  if (!answered) child.stdin!.destroy();
  return { code, output: output.replace(/\r\n/g, '\n') };
}

function terminalEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: url, TERM: 'xterm', ...extra };
  for (const name of ['PHASECTL_RELEASE', 'FORCE_COLOR', ...(extra.NO_COLOR ? [] : ['NO_COLOR'])]) delete env[name];
  return env;
}
