import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { phasectl, repoRoot } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';
import { createRepository, removeTemporaryRepositories, type TestRepository } from '../support/git-repo.js';

/**
 * A team's own templates, declared once in phases.yaml (`migrations: { templates: db/templates }`), shape the
 * files every command renders: `advance` writes them, `generate --check` and `check` call them up to date,
 * and `migrate` runs them (it refuses files that phases.yaml would not generate).
 */
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let repo: TestRepository;
const outside = mkdtempSync(join(tmpdir(), 'phasectl-outside-'));
const TEAM_LINE = '-- ACME: reviewed by the database team (our own expand template).';

beforeAll(async () => {
  database = await createTestDatabase();
  await query(
    database.url,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown')`,
  );
  repo = createRepository();
});
afterAll(async () => {
  await database?.drop();
  removeTemporaryRepositories();
  rmSync(outside, { recursive: true, force: true });
});

function cli(args: string[]) {
  return phasectl(args, { cwd: repo.dir, env: { DATABASE_URL: database.url } });
}

/** phases.yaml with `migrations:` holding `lines`, placed right after `version: 1`; returns the 1-based line of the first. */
function setMigrations(text: string, lines: string[]): { text: string; line: number } {
  const withoutOld = text.replace(/\nmigrations:\n(?: {2}.*\n)*/, '\n');
  const at = withoutOld.indexOf('version: 1\n') + 'version: 1\n'.length;
  const line = withoutOld.slice(0, at).split('\n').length;
  return {
    text: `${withoutOld.slice(0, at)}migrations:\n${lines.map((l) => `  ${l}\n`).join('')}${withoutOld.slice(at)}`,
    line,
  };
}

test('templates and timeouts declared in phases.yaml shape what advance writes; generate --check, check and migrate accept them', async () => {
  expect((await cli(['init'])).code).toBe(0);
  const plan = await cli(['plan', 'rename', 'users.job_title', 'favourite_color']);
  expect(plan.code, plan.stderr).toBe(0);
  const builtIn = readFileSync(join(repoRoot, 'templates/rename/expand.sql.hbs'), 'utf8');
  repo.write('db/templates/rename/expand.sql.hbs', `${TEAM_LINE}\n${builtIn}`);
  const planned = repo.read('phases.yaml');
  repo.write('phases.yaml', setMigrations(planned, ['templates: db/templates', 'lockTimeout: 750ms']).text);
  repo.commit('plan the rename, with our own templates');

  const advance = await cli(['advance', '--release', '1.0.0']);
  expect(advance.code, advance.stderr).toBe(0);
  const migrations = readdirSync(join(repo.dir, 'db/migrations'));
  const expand = migrations.find((name) => name.endsWith('_p1_01_expand.up.sql'))!;
  const expandSql = repo.read(`db/migrations/${expand}`);
  expect(expandSql).toContain(TEAM_LINE);
  expect(expandSql).toContain(`SET LOCAL lock_timeout = '750ms';`);
  expect(expandSql).not.toContain(`lock_timeout = '2s'`);

  const generateCheck = await cli(['generate', '--check']);
  expect(generateCheck.code, generateCheck.stdout + generateCheck.stderr).toBe(0);
  repo.commit('release 1.0.0');
  const check = await cli(['check', '--base', 'HEAD~1']);
  expect(check.code, check.stdout + check.stderr).toBe(0);

  const migrate = await cli(['migrate', '--quiet']);
  expect(migrate.code, migrate.stderr).toBe(0);
  expect(
    await query(
      database.url,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY 1`,
    ),
  ).toEqual([{ column_name: 'favourite_color' }, { column_name: 'id' }, { column_name: 'job_title' }]);
}, 300_000);

test('a templates folder that is missing, links out of the project or holds a misnamed template: exit 2 at the phases.yaml key, nothing written', async () => {
  const good = repo.read('phases.yaml');
  const filesBefore = readdirSync(join(repo.dir, 'db/migrations')).sort();
  const refusals: Array<{ setup: () => string; message: RegExp }> = [
    {
      setup: () => 'templates: db/no-such-folder',
      message: /migrations\.templates \(db\/no-such-folder\): .*does not exist/,
    },
    {
      setup: () => {
        mkdirSync(join(outside, 'rename'), { recursive: true });
        writeFileSync(join(outside, 'rename/expand.sql.hbs'), 'SELECT 1;\n');
        symlinkSync(outside, join(repo.dir, 'db/linked-templates'));
        return 'templates: db/linked-templates';
      },
      message: /resolves outside the project/,
    },
    {
      setup: () => {
        repo.write('db/typo-templates/rename/expnad.sql.hbs', 'SELECT 1;\n');
        return 'templates: db/typo-templates';
      },
      message: /rename\/expnad\.sql\.hbs is not one of phasectl's templates[^]*did you mean "rename\/expand\.sql\.hbs"/,
    },
    { setup: () => 'lockTimeout: 0ms', message: /0ms is outside 1ms to 600s/ },
  ];
  for (const refusal of refusals) {
    const { text, line } = setMigrations(good, [refusal.setup()]);
    repo.write('phases.yaml', text);
    // Every command that renders or checks with the settings refuses the first; advance and generate the others.
    const commands =
      refusal === refusals[0]
        ? [['advance', '--release', '2.0.0'], ['generate'], ['migrate'], ['plan', 'rename', 'users.id', 'user_id']]
        : [['advance', '--release', '2.0.0'], ['generate']];
    for (const args of commands) {
      const result = await cli(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(2);
      expect(result.stderr).toMatch(refusal.message);
      expect(result.stderr).toContain(`phases.yaml:${line + 1}:`);
      expect(repo.read('phases.yaml')).toBe(text);
      expect(readdirSync(join(repo.dir, 'db/migrations')).sort()).toEqual(filesBefore);
    }
  }
  repo.write('phases.yaml', good);
}, 300_000);
