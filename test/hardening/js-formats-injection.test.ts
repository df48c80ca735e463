import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { initialPhasesText } from '../../src/commands/init.js';
import { dbMigrateFiles } from '../../src/formats/db-migrate.js';
import { jsComment, jsString } from '../../src/formats/js-literal.js';
import { kyselyFiles } from '../../src/formats/kysely.js';
import { runnerMigrations, type ReleasedStep } from '../../src/formats/runner-migrations.js';
import { migrationFileName } from '../../src/migration-file/header.js';
import { phaseSteps } from '../../src/operations/index.js';
import type { Step } from '../../src/operations/types.js';
import { splitStatements } from '../../src/sql/split-statements.js';
import type { RenameChange } from '../../src/spec/types.js';
import { runCli } from '../support/cli-process.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';

/**
 * Issue 17 item 3: text we write into JavaScript (kysely / db-migrate formats) is a fully escaped string literal
 * or a comment without line terminators; a name holding a non-printing character (U+2028 ends a `//` line in
 * JavaScript) is refused at `plan` and when phases.yaml is loaded.
 */

/** Every non-printing code point of the BMP (Cc, Cf, Cs, Co, Cn, Zl, Zp), and every 257th one above it. */
const nonPrinting: string[] = [];
for (let code = 0; code <= 0x10ffff; code += code < 0x10000 ? 1 : 257) {
  const character = String.fromCodePoint(code);
  if (/^[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]$/u.test(character)) nonPrinting.push(character);
}
for (const plane16 of [0xf0000, 0xffffd, 0x100000, 0x10fffd, 0xe0001, 0xe007f, 0x1d173])
  nonPrinting.push(String.fromCodePoint(plane16));

/** After each character, code that must never run: it would count itself in globalThis.__pwned. */
const payload = (character: string) => `${character}globalThis.__pwned=1;//${character}*/\`\${0}'"\\`;

const baseChange: RenameChange = {
  kind: 'rename',
  id: 'users-job-title',
  rename: { schema: 'public', table: 'users', from: 'job_title', to: 'favourite_color' },
  column: {
    type: 'text',
    nullable: true,
    indexes: [
      {
        name: 'users_job_title_idx',
        unique: false,
        definition: 'CREATE INDEX users_job_title_idx ON public.users USING btree (job_title)',
      },
    ],
    constraints: [],
  },
  key: { columns: ['id'], types: ['bigint'] },
  releases: { phase1: '1.4.0' },
};

/** Phase 1's steps with `text` injected into every place a format writes into JavaScript. */
function injected(text: string): ReleasedStep[] {
  const { up, down } = phaseSteps(baseChange, 1);
  // One transactional and one statement-by-statement step each way: every shape a format writes.
  const shapes = new Set(['expand', 'indexes', 'drop-indexes', 'shrink']);
  return [...up, ...down]
    .filter((step) => shapes.has(step.name))
    .map((original) => {
      const step: Step = { ...original, summary: `summary ${text}`, sql: `${original.sql}\nSELECT ${text};` };
      return { releaseIndex: 1, release: '1.4.0', step, fileName: migrationFileName(1, '1.4.0', step) };
    });
}

type Module = { up(db: unknown): Promise<void>; down(db: unknown): Promise<void> };

/** Compiles a generated kysely file (TypeScript) and loads it with `kysely` stubbed to record every SQL text. */
function loadKysely(source: string, executed: string[]): Module {
  const output = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    reportDiagnostics: true,
  });
  expect(output.diagnostics?.map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')) ?? []).toEqual([]);
  const kysely = { sql: { raw: (text: string) => ({ execute: async () => void executed.push(text) }) } };
  const module = { exports: {} as Module };
  new Function('exports', 'require', 'module', output.outputText)(
    module.exports,
    (name: string) => (name === 'kysely' ? kysely : {}),
    module,
  );
  return module.exports;
}

const fakeDb = {
  isTransaction: false,
  transaction: () => ({ execute: (body: (trx: unknown) => Promise<void>) => body({}) }),
  connection: () => ({ execute: (body: (conn: unknown) => Promise<void>) => body({}) }),
};

/** The SQL texts a kysely migration must run for `steps`, in order. */
function expectedSql(steps: Step[]): string[] {
  return steps.flatMap((step) =>
    step.transaction
      ? [step.sql.trimEnd()]
      : [...splitStatements(step.sql), 'RESET lock_timeout; RESET statement_timeout'],
  );
}

/** Generates both formats for `text`, loads every JavaScript file, runs up and down: exactly our SQL runs, nothing else. */
async function assertInert(text: string): Promise<void> {
  const migrations = runnerMigrations(injected(text));
  delete (globalThis as { __pwned?: number }).__pwned;
  for (const [index, file] of kyselyFiles(migrations).entries()) {
    const executed: string[] = [];
    const module = loadKysely(file.content, executed);
    expect(Object.keys(module).sort()).toEqual(['down', 'up']);
    await module.up(fakeDb);
    await module.down(fakeDb);
    expect(executed).toEqual([...expectedSql([migrations[index]!.up]), ...expectedSql(migrations[index]!.down)]);
  }
  for (const file of dbMigrateFiles(migrations).filter(
    (f) => f.path.endsWith('.js') && !f.path.includes('/phasectl/'),
  )) {
    const ran: string[] = [];
    const module = { exports: {} as Module & { _meta: unknown; setup(): void } };
    const stub = (name: string) =>
      name === 'path'
        ? { join: (...parts: string[]) => parts.join('/') }
        : { runSqlFile: (_db: unknown, path: string) => ran.push(path) };
    new Function('exports', 'require', 'module', '__dirname', file.content)(module.exports, stub, module, 'DIR');
    expect(Object.keys(module.exports).sort()).toEqual(['_meta', 'down', 'setup', 'up']);
    await module.exports.up({});
    await module.exports.down({});
    const name = file.path.replace(/^db\/db-migrate\//, '').replace(/\.js$/, '');
    expect(ran).toEqual([`DIR/sqls/${name}-up.sql`, `DIR/sqls/${name}-down.sql`]);
  }
  expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined();
}

describe('generated JavaScript: every non-printing code point stays inert', () => {
  test(`all ${nonPrinting.length} non-printing code points, each followed by code, in summaries and SQL`, async () => {
    expect(nonPrinting).toContain('\u2028');
    expect(nonPrinting).toContain('\u2029');
    await assertInert(nonPrinting.map(payload).join(''));
  }, 120_000);

  test('random mixtures of non-printing characters and JavaScript syntax', async () => {
    const piece = fc.oneof(
      fc.constantFrom(...nonPrinting),
      fc.constantFrom(
        '\n',
        '\r\n',
        '\u2028',
        '\u2029',
        '*/',
        '/*',
        '`',
        '${',
        '}',
        "'",
        '"',
        '\\',
        '\\u2028',
        '//',
        '<!--',
        '-->',
        'globalThis.__pwned = 1;',
      ),
      fc.string({ unit: 'binary', maxLength: 4 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { maxLength: 20 }).map((parts) => parts.join('')),
        async (text) => assertInert(text),
      ),
      { numRuns: 40 },
    );
  }, 120_000);

  test('jsString is a literal of the same value, jsComment a single printable line', () => {
    for (const character of nonPrinting.slice(0, 4000)) {
      const text = `a${character}'\\"b`;
      expect(new Function(`return ${jsString(text)};`)()).toBe(text);
      expect(jsString(text)).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u);
      expect(jsComment(`x${character}y`)).not.toMatch(/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u);
    }
  });
});

describe('names with non-printing characters are refused (CLI, real PostgreSQL)', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dir: string;
  const phasesText = initialPhasesText().replace('version: 1\n', 'version: 1\nmigrations:\n  format: kysely\n');
  beforeAll(async () => {
    db = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'phasectl-js-injection-'));
    await writeFile(join(dir, 'phases.yaml'), phasesText);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    await db?.drop();
  });

  test('plan refuses a column whose name holds U+2028 (exit 2), and phases.yaml is unchanged', async () => {
    const column = 'job\u2028globalThis.pwned = 1 //';
    await query(db.url, `CREATE TABLE public.users (id bigint PRIMARY KEY, "${column}" text)`);
    const result = await runCli(
      ['plan', 'rename', `public.users."${column}"`, 'title', '--database-url', db.url],
      {},
      dir,
    );
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/non-printing character \(U\+2028/);
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(phasesText);
  }, 120_000);

  test('plan refuses an index name holding U+2029 read from the database', async () => {
    await query(
      db.url,
      `CREATE TABLE public.accounts (id bigint PRIMARY KEY, login text); CREATE INDEX "login\u2029idx" ON public.accounts (login)`,
    );
    const result = await runCli(
      ['plan', 'rename', 'public.accounts.login', 'username', '--database-url', db.url],
      {},
      dir,
    );
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/index name .*non-printing character \(U\+2029/);
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(phasesText);
  }, 120_000);

  test('a hand-written phases.yaml with such a name: generate and advance refuse with the line, no JavaScript written', async () => {
    const hostile = phasesText.replace(
      'changes: []',
      `releases: [ 1.4.0 ]\nchanges:\n  - id: users-job\n    rename: { schema: public, table: users, from: "job\\u2028globalThis.pwned = 1 //", to: title }\n` +
        `    column: { type: text, nullable: true }\n    key: { columns: [ id ], types: [ bigint ] }\n    releases: { phase1: 1.4.0 }\n`,
    );
    const project = await mkdtemp(join(tmpdir(), 'phasectl-js-injection-yaml-'));
    try {
      await writeFile(join(project, 'phases.yaml'), hostile);
      for (const args of [['generate'], ['advance', '--release', '1.5.0']]) {
        const result = await runCli(args, {}, project);
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toMatch(/phases\.yaml:\d+:\d+: .*non-printing character \(U\+2028/);
      }
      expect(await readdir(project)).toEqual(['phases.yaml']);
    } finally {
      await rm(project, { recursive: true, force: true });
    }
  }, 120_000);
});
