import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import { splitStatements } from '../../src/sql/split-statements.js';
import { createTestDatabase } from '../support/database.js';

/**
 * Index and constraint definitions copied onto the new column are rewritten with PostgreSQL's own parser
 * (columns named like types and keywords), and every name phase 1 creates is checked free: at plan (exit 2)
 * and again by the generated step itself at migrate. All through the CLI on a real PostgreSQL.
 */

/** Runs the CLI in this process with `cwd` as the working directory, capturing its output. */
async function phasectl(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = process.cwd();
  let stdout = '';
  let stderr = '';
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  process.chdir(cwd);
  try {
    return { code: await run(['node', 'phasectl', ...args]), stdout, stderr };
  } finally {
    process.chdir(saved);
    outSpy.mockRestore();
    errSpy.mockRestore();
  }
}

// Each test has its own database: phasectl's ledger (schema phasectl) belongs to one project.
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
const projects: string[] = [];

beforeEach(async () => {
  database = await createTestDatabase();
  client = new pg.Client({ connectionString: database.url });
  await client.connect();
});
afterEach(async () => {
  await client?.end();
  await database?.drop();
});
afterAll(async () => {
  for (const dir of projects) await rm(dir, { recursive: true, force: true });
});

async function newProject(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-rewrite-'));
  projects.push(dir);
  expect((await phasectl(dir, ['init'])).code).toBe(0);
  return dir;
}

async function ok(dir: string, args: string[]): Promise<string> {
  const result = await phasectl(dir, args);
  expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

const rows = async (text: string, params: unknown[] = []) => (await client.query(text, params)).rows;

test('renaming a column named date with CHECK (date > ...::date): all three phases, the copied check keeps the type', async () => {
  await client.query(`CREATE SCHEMA dated;
    CREATE TABLE dated.events (id bigint PRIMARY KEY, date date NOT NULL,
      CONSTRAINT events_date_check CHECK (date > '2000-01-01'::date));
    INSERT INTO dated.events SELECT g, '2020-01-01'::date + g FROM generate_series(1, 300) g;`);
  const dir = await newProject();
  await ok(dir, ['plan', 'rename', 'dated.events.date', 'happened_on', '--database-url', database.url]);
  for (const release of ['1.0.0', '1.1.0', '1.2.0']) {
    await ok(dir, ['advance', '--release', release]);
    await ok(dir, ['migrate', '--database-url', database.url, '--quiet']);
  }
  expect(
    await rows(`SELECT conname, pg_catalog.pg_get_constraintdef(oid) AS def FROM pg_catalog.pg_constraint
    WHERE conrelid = 'dated.events'::regclass AND contype = 'c' ORDER BY 1`),
  ).toEqual([{ conname: 'events_happened_on_check', def: "CHECK ((happened_on > '2000-01-01'::date))" }]);
  await expect(client.query(`INSERT INTO dated.events (id, happened_on) VALUES (1000, '1999-01-01')`)).rejects.toThrow(
    /events_happened_on_check/,
  );
  expect(
    await rows(`SELECT count(*)::int AS n FROM dated.events WHERE happened_on = '2020-01-01'::date + id::int`),
  ).toEqual([{ n: 300 }]);
});

describe('columns named like types and keywords', () => {
  // Each: type, an expression index, a partial index predicate, a CHECK (all naming the column).
  const columns: Record<string, { type: string; expression: string; where: string; check: string; value: string }> = {
    date: {
      type: 'date',
      expression: `(date - '2000-01-01'::date)`,
      where: `date > '2000-01-01'::date`,
      check: `date > '1990-01-01'::date`,
      value: `'2020-01-01'::date + g`,
    },
    text: {
      type: 'text',
      expression: `lower(text::text)`,
      where: `text <> 'text'::text`,
      check: `length(text::text) < 100`,
      value: `'t' || g`,
    },
    int: { type: 'int', expression: `("int"::int + 1)`, where: `"int" > 0::int`, check: `"int" >= 0::int`, value: 'g' },
    timestamp: {
      type: 'timestamp',
      expression: `date_trunc('day', "timestamp")`,
      where: `"timestamp" > '2000-01-01'::timestamp`,
      check: `"timestamp" > '1990-01-01'::timestamp`,
      value: `'2020-01-01'::timestamp + g * interval '1 hour'`,
    },
    user: {
      type: 'text',
      expression: `lower("user")`,
      where: `"user" <> 'user'`,
      check: `"user" <> 'root'`,
      value: `'u' || g`,
    },
    order: { type: 'int', expression: `("order" * 2)`, where: `"order" > 0`, check: `"order" >= 0`, value: 'g' },
    check: {
      type: 'text',
      expression: `upper("check")`,
      where: `"check" IS NOT NULL`,
      check: `"check" <> 'check'`,
      value: `'c' || g`,
    },
    default: {
      type: 'text',
      expression: `("default" || 'default')`,
      where: `"default" <> 'default'`,
      check: `length("default") < 50`,
      value: `'d' || g`,
    },
  };
  const names = Object.keys(columns);
  const q = (name: string) => `"${name}"`;

  test('phase 1 builds every index (plain, expression, partial) and CHECK on the new column, and they hold', async () => {
    await client.query(`CREATE SCHEMA kw;
      CREATE TABLE kw.things (id bigint PRIMARY KEY, ${names.map((name) => `${q(name)} ${columns[name]!.type}`).join(', ')},
        ${names.map((name) => `CONSTRAINT ${q(`ck_${name}`)} CHECK (${columns[name]!.check})`).join(', ')});
      ${names
        .map(
          (name) => `CREATE INDEX ${q(`ix_${name}`)} ON kw.things (${q(name)});
          CREATE INDEX ${q(`ix_${name}_expr`)} ON kw.things ((${columns[name]!.expression}));
          CREATE INDEX ${q(`ix_${name}_part`)} ON kw.things (id) WHERE ${columns[name]!.where};`,
        )
        .join('\n')}
      INSERT INTO kw.things SELECT g, ${names.map((name) => columns[name]!.value).join(', ')} FROM generate_series(1, 200) g;`);
    const dir = await newProject();
    for (const name of names)
      await ok(dir, ['plan', 'rename', `kw.things.${q(name)}`, `${name}_new`, '--database-url', database.url]);
    await ok(dir, ['advance', '--release', '1.0.0']);
    await ok(dir, ['migrate', '--database-url', database.url, '--quiet']);

    for (const name of names) {
      const renamed = `${name}_new`;
      // Each copy reads as PostgreSQL prints the original, with only the column (and the name) changed.
      const indexes = await rows(
        `SELECT o.relname AS original,
                pg_catalog.replace(pg_catalog.replace(pg_catalog.pg_get_indexdef(n.oid), n.relname, o.relname), $2, pg_catalog.quote_ident($1)) AS copy,
                pg_catalog.pg_get_indexdef(o.oid) AS expected, x.indisvalid AS valid
         FROM pg_catalog.pg_class o
         JOIN pg_catalog.pg_class n ON n.relname = pg_catalog.replace(o.relname, $1, $2)
         JOIN pg_catalog.pg_index x ON x.indexrelid = n.oid
         WHERE o.relname IN ('ix_' || $1, 'ix_' || $1 || '_expr', 'ix_' || $1 || '_part') ORDER BY 1`,
        [name, renamed],
      );
      expect(indexes.length, name).toBe(3);
      for (const index of indexes)
        expect({ copy: index.copy, valid: index.valid }, `${name}: ${index.original}`).toEqual({
          copy: index.expected,
          valid: true,
        });
      const checks = await rows(
        `SELECT pg_catalog.replace(pg_catalog.pg_get_constraintdef(n.oid), $2, pg_catalog.quote_ident($1)) AS copy,
                pg_catalog.pg_get_constraintdef(o.oid) AS expected, n.convalidated AS valid
         FROM pg_catalog.pg_constraint o JOIN pg_catalog.pg_constraint n ON n.conname = 'ck_' || $2 AND n.conrelid = o.conrelid
         WHERE o.conname = 'ck_' || $1 AND o.conrelid = 'kw.things'::regclass`,
        [name, renamed],
      );
      expect(checks.length, name).toBe(1);
      expect({ copy: checks[0]?.copy, valid: checks[0]?.valid }, name).toEqual({
        copy: checks[0]?.expected,
        valid: true,
      });
      // The copied check names the new column: it depends on it and nothing else.
      expect(
        await rows(
          `SELECT a.attname FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
        WHERE c.conname = 'ck_' || $1 AND c.conrelid = 'kw.things'::regclass`,
          [renamed],
        ),
      ).toEqual([{ attname: renamed }]);
    }
    await expect(client.query(`UPDATE kw.things SET "order_new" = -1 WHERE id = 1`)).rejects.toThrow(
      /ck_order_new|ck_order/,
    );
  });
});

test('a foreign key on a column named user: only the local column list is renamed, the referenced "user" stays', async () => {
  await client.query(`CREATE SCHEMA fk;
    CREATE TABLE fk.people ("user" text PRIMARY KEY);
    CREATE TABLE fk.posts (id bigint PRIMARY KEY, "user" text CONSTRAINT posts_user_fkey REFERENCES fk.people ("user"));
    INSERT INTO fk.people SELECT 'u' || g FROM generate_series(1, 50) g;
    INSERT INTO fk.posts SELECT g, 'u' || (g % 50 + 1) FROM generate_series(1, 200) g;`);
  const dir = await newProject();
  await ok(dir, ['plan', 'rename', 'fk.posts."user"', 'author', '--database-url', database.url]);
  await ok(dir, ['advance', '--release', '1.0.0']);
  await ok(dir, ['migrate', '--database-url', database.url, '--quiet']);
  expect(
    await rows(`SELECT conname, pg_catalog.pg_get_constraintdef(oid) AS def, convalidated FROM pg_catalog.pg_constraint
    WHERE conrelid = 'fk.posts'::regclass AND contype = 'f' ORDER BY 1`),
  ).toEqual([
    { conname: 'posts_author_fkey', def: 'FOREIGN KEY (author) REFERENCES fk.people("user")', convalidated: true },
    { conname: 'posts_user_fkey', def: 'FOREIGN KEY ("user") REFERENCES fk.people("user")', convalidated: true },
  ]);
  await expect(client.query(`UPDATE fk.posts SET author = 'nobody' WHERE id = 1`)).rejects.toThrow(
    /posts_(author|user)_fkey/,
  );
});

test('a move of a column named order: the expression index, partial index and CHECK are rebuilt on the target column', async () => {
  await client.query(`CREATE SCHEMA mv;
    CREATE TABLE mv.users (id bigint PRIMARY KEY, "order" int CONSTRAINT users_order_check CHECK ("order" >= 0::int));
    CREATE TABLE mv.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE);
    CREATE INDEX users_order_idx ON mv.users (("order" * 2)) WHERE "order" > 0;
    INSERT INTO mv.users SELECT g, g FROM generate_series(1, 100) g;
    INSERT INTO mv.profiles SELECT g, g FROM generate_series(1, 100) g;`);
  const dir = await newProject();
  await ok(dir, [
    'plan',
    'move',
    'mv.users."order"',
    'mv.profiles.position',
    '--on',
    'id=user_id',
    '--database-url',
    database.url,
  ]);
  await ok(dir, ['advance', '--release', '1.0.0']);
  await ok(dir, ['migrate', '--database-url', database.url, '--quiet']);
  expect(
    await rows(`SELECT pg_catalog.pg_get_indexdef(i.indexrelid) AS def FROM pg_catalog.pg_index i
    WHERE i.indrelid = 'mv.profiles'::regclass AND NOT i.indisunique`),
  ).toEqual([
    {
      def: 'CREATE INDEX profiles_position_idx ON mv.profiles USING btree ((("position" * 2))) WHERE ("position" > 0)',
    },
  ]);
  expect(
    await rows(`SELECT conname, pg_catalog.pg_get_constraintdef(oid) AS def FROM pg_catalog.pg_constraint
    WHERE conrelid = 'mv.profiles'::regclass AND contype = 'c'`),
  ).toEqual([{ conname: 'profiles_position_check', def: 'CHECK (("position" >= 0))' }]);
});

describe('derived names must be free', () => {
  test('an index name taken on another table is refused at plan (exit 2, phases.yaml unchanged)', async () => {
    await client.query(`CREATE SCHEMA clash;
      CREATE TABLE clash.accounts (id bigint PRIMARY KEY, username text);
      CREATE UNIQUE INDEX accounts_username_uq ON clash.accounts (username);
      CREATE TABLE clash.legacy (id bigint PRIMARY KEY, login text);
      CREATE INDEX accounts_login_uq ON clash.legacy (login);`);
    const dir = await newProject();
    const before = await readFile(join(dir, 'phases.yaml'), 'utf8');
    const refused = await phasectl(dir, [
      'plan',
      'rename',
      'clash.accounts.username',
      'login',
      '--database-url',
      database.url,
    ]);
    expect(refused.code, refused.stderr).toBe(2);
    expect(refused.stderr).toContain('accounts_login_uq');
    expect(refused.stderr).toContain('an index on table clash.legacy');
    expect(refused.stderr).toMatch(/fix: rename that object/);
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(before);

    // The sync trigger's name taken on the table, then a constraint name: refused too.
    await client.query(`DROP INDEX clash.accounts_login_uq;
      ALTER TABLE clash.accounts ADD COLUMN note text CONSTRAINT accounts_note_check CHECK (note <> '');
      CREATE FUNCTION clash.noop() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
      CREATE TRIGGER zz_phasectl_sync_c1 BEFORE UPDATE ON clash.accounts FOR EACH ROW EXECUTE FUNCTION clash.noop();`);
    const trigger = await phasectl(dir, [
      'plan',
      'rename',
      'clash.accounts.note',
      'remark',
      '--id',
      'c1',
      '--database-url',
      database.url,
    ]);
    expect(trigger.code, trigger.stderr).toBe(2);
    expect(trigger.stderr).toContain('for the sync trigger is taken by a trigger on table clash.accounts');
    await client.query(`ALTER TABLE clash.accounts ADD CONSTRAINT accounts_remark_check CHECK (id > 0)`);
    const check = await phasectl(dir, [
      'plan',
      'rename',
      'clash.accounts.note',
      'remark',
      '--id',
      'c2',
      '--database-url',
      database.url,
    ]);
    expect(check.code, check.stderr).toBe(2);
    expect(check.stderr).toContain('accounts_remark_check');
    expect(check.stderr).toContain('a constraint on table clash.accounts');
    // The sync function's name taken in schema phasectl (left by an earlier change with that id).
    await client.query(`CREATE SCHEMA IF NOT EXISTS phasectl;
      CREATE FUNCTION phasectl.sync_c3() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';`);
    const fn = await phasectl(dir, [
      'plan',
      'rename',
      'clash.accounts.note',
      'comment',
      '--id',
      'c3',
      '--database-url',
      database.url,
    ]);
    expect(fn.code, fn.stderr).toBe(2);
    expect(fn.stderr).toContain('sync_c3');
    expect(fn.stderr).toContain('a function in schema phasectl (left by an earlier change with this id?)');
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(before);
  });

  test('a name taken after plan: the generated index step raises at migrate, builds nothing, and succeeds once it is free', async () => {
    await client.query(`CREATE SCHEMA late;
      CREATE TABLE late.accounts (id bigint PRIMARY KEY, username text);
      CREATE UNIQUE INDEX accounts_username_uq ON late.accounts (username);
      CREATE TABLE late.legacy (id bigint PRIMARY KEY, login text);
      INSERT INTO late.accounts SELECT g, 'user' || g FROM generate_series(1, 100) g;`);
    const dir = await newProject();
    await ok(dir, ['plan', 'rename', 'late.accounts.username', 'login', '--database-url', database.url]);
    await ok(dir, ['advance', '--release', '1.0.0']);
    await client.query(`CREATE INDEX accounts_login_uq ON late.legacy (login)`);
    const failed = await phasectl(dir, ['migrate', '--database-url', database.url]);
    expect(failed.code, failed.stdout + failed.stderr).toBe(3);
    expect(failed.stdout + failed.stderr).toContain('the name "late"."accounts_login_uq" is taken by another relation');
    // Nothing half-done: no index on accounts.login (valid or INVALID), the other table's index untouched.
    expect(
      await rows(`SELECT c.relname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = 'late.accounts'::regclass ORDER BY 1`),
    ).toEqual([{ relname: 'accounts_pkey' }, { relname: 'accounts_username_uq' }]);
    expect(await rows(`SELECT pg_catalog.pg_get_indexdef('late.accounts_login_uq'::regclass) AS def`)).toEqual([
      { def: 'CREATE INDEX accounts_login_uq ON late.legacy USING btree (login)' },
    ]);

    await client.query(`ALTER INDEX late.accounts_login_uq RENAME TO legacy_login_idx`);
    await ok(dir, ['migrate', '--database-url', database.url, '--quiet']);
    await expect(client.query(`INSERT INTO late.accounts (id, login) VALUES (1000, 'user1')`)).rejects.toThrow(
      /duplicate key/,
    );
    // A re-run of the step finds its own index and accepts it.
    const file = (await readdir(join(dir, 'db/migrations'))).find((name) => name.includes('_p1_03_indexes.up'))!;
    for (const statement of splitStatements(await readFile(join(dir, 'db/migrations', file), 'utf8')))
      await client.query(statement);
  });

  test('a constraint name taken after plan: the constraints step raises at migrate and adds none of its constraints', async () => {
    await client.query(`CREATE SCHEMA latecheck;
      CREATE TABLE latecheck.users (id bigint PRIMARY KEY, title text NOT NULL CONSTRAINT users_title_check CHECK (length(title) < 100));
      INSERT INTO latecheck.users SELECT g, 't' || g FROM generate_series(1, 100) g;`);
    const dir = await newProject();
    await ok(dir, ['plan', 'rename', 'latecheck.users.title', 'label', '--database-url', database.url]);
    await ok(dir, ['advance', '--release', '1.0.0']);
    await client.query(`ALTER TABLE latecheck.users ADD CONSTRAINT users_label_check CHECK (id > 0)`);
    const failed = await phasectl(dir, ['migrate', '--database-url', database.url]);
    expect(failed.code, failed.stdout + failed.stderr).toBe(3);
    expect(failed.stdout + failed.stderr).toContain(
      'constraint users_label_check on "latecheck"."users" already exists with another definition: CHECK ((id > 0))',
    );
    // The step is one transaction: the NOT NULL check it adds first is not there either.
    expect(
      await rows(
        `SELECT conname FROM pg_catalog.pg_constraint WHERE conrelid = 'latecheck.users'::regclass AND contype = 'c' ORDER BY 1`,
      ),
    ).toEqual([{ conname: 'users_label_check' }, { conname: 'users_title_check' }]);
  });
});
