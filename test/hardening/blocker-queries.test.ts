import { beforeAll, expect, test } from 'vitest';
import { maskLiterals } from '../../src/sql/mask-literals.js';
import { runCli } from '../support/cli-process.js';
import { createTestDatabase } from '../support/database.js';
import { client, header, makeProject, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll } from '../support/test-project.js';

/**
 * Issue 17 item 4: while migrate waits for a lock, the message and the --json retry events name the blocking
 * session by pid, user, application, state and age — never its query (it may hold a password), unless
 * --show-blocker-queries asks for it, and then with every constant masked.
 */

const secret = 'S3cret-pw_do-not-print';
const alterFile = `${header({ change: 'c', phase: 1, step: '01-expand', release: '1.0.0' })}SET LOCAL lock_timeout = '2s';\nALTER TABLE public.hot ADD COLUMN w int;\n`;
let url: string;
let dir: string;
let pid: number;
let blocker: Awaited<ReturnType<typeof client>>;
const cleanups = cleanupsAfterAll();

beforeAll(async () => {
  const db = await createTestDatabase();
  const project = await makeProject({ '001_1.0.0_c_p1_01_expand.up.sql': alterFile });
  cleanups.push(db.drop, project.remove);
  url = db.url;
  dir = project.dir;
  await query(url, 'CREATE TABLE public.hot (id int PRIMARY KEY); DROP ROLE IF EXISTS phasectl_blocker_role');
  blocker = await client(url);
  cleanups.push(async () => {
    await blocker.end();
    await query(url, 'DROP ROLE IF EXISTS phasectl_blocker_role');
  });
  await blocker.query(`SET application_name = 'billing-worker'`);
  await blocker.query('BEGIN');
  await blocker.query('LOCK TABLE public.hot IN ACCESS SHARE MODE');
  await blocker.query('CREATE ROLE phasectl_blocker_role');
  // The blocking session's last statement, as pg_stat_activity shows it.
  await blocker.query(`ALTER ROLE phasectl_blocker_role PASSWORD '${secret}' VALID UNTIL '2099-01-01'`);
  pid = (
    await query<{ pid: number }>(url, `SELECT pid FROM pg_stat_activity WHERE application_name = 'billing-worker'`)
  )[0]!.pid;
});

test('lock wait: the message and --json retry events name the blocker without its query', async () => {
  const result = await runCli(['migrate', '--project', dir, '--json', '--lock-timeout', '100', '--retry-for', '2'], {
    DATABASE_URL: url,
  });
  expect(result.code, result.stderr).toBe(3);
  const output = result.stdout + result.stderr;
  expect(output).not.toContain(secret);
  expect(output).not.toContain('ALTER ROLE');
  expect(result.stderr).toMatch(
    new RegExp(`blocked by: pid ${pid} \\(user \\S+, application billing-worker, idle in transaction for \\d+s\\)`),
  );
  const retries = result.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { type: string; blockers?: string })
    .filter((event) => event.type === 'retry');
  expect(retries.some((event) => event.blockers?.startsWith(`pid ${pid} (user `))).toBe(true);
}, 120_000);

test('--show-blocker-queries prints the query with its constants masked', async () => {
  const result = await runCli(
    ['migrate', '--project', dir, '--json', '--lock-timeout', '100', '--retry-for', '2', '--show-blocker-queries'],
    { DATABASE_URL: url },
  );
  expect(result.code, result.stderr).toBe(3);
  expect(result.stdout + result.stderr).not.toContain(secret);
  expect(result.stderr).toContain(`pid ${pid} (`);
  expect(result.stderr).toContain('): ALTER ROLE phasectl_blocker_role PASSWORD $1 VALID UNTIL $2');
}, 120_000);

test('maskLiterals: strings, escapes, dollar quotes, numbers and comments; identifiers and parameters kept', () => {
  expect(maskLiterals("ALTER ROLE app PASSWORD 'it''s'")).toBe('ALTER ROLE app PASSWORD $1');
  expect(
    maskLiterals(
      `SELECT "t'1".a2 FROM t WHERE a = E'x\\'y' AND b = $x$ s $x$ AND c = $1 AND d = 1.5e3 -- 'k'\n AND e = 0x1F /* 'c' */`,
    ),
  ).toBe(`SELECT "t'1".a2 FROM t WHERE a = $2 AND b = $3 AND c = $1 AND d = $4 AND e = $5`);
  expect(maskLiterals("UPDATE t SET pw = 'truncated secr")).toBe('UPDATE t SET pw = $1');
  expect(maskLiterals("SELECT U&'d\\0061t', B'101', X'ff', N'x'")).toBe('SELECT $1, $2, $3, $4');
});
