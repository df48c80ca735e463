import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, test, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import { splitStatements } from '../../src/sql/split-statements.js';
import { createTestDatabase } from '../support/database.js';
import { cleanupsAfterAll } from '../support/test-project.js';
import { behindSyncTriggers } from '../support/behind-sync-triggers.js';

/**
 * Issue 17, items 5, 9 and 13, through the CLI on a real server:
 * - equality is not identity: a write that changes only case (citext, a case-insensitive ICU collation) or scale
 *   (numeric, arrays and a composite of them), '1 day' vs '24 hours', -0 vs 0, is copied; verify counts such a
 *   difference; phase 3 refuses while one exists; `backfill --repair` rewrites exactly those rows;
 * - a BEFORE trigger that sets the old column on updates that do not name it is synced;
 * - a CASE expression as --up/--down generates valid plpgsql.
 */

// One database per project: migrate refuses a database that holds migrations of another project.
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
const cleanups = cleanupsAfterAll();

/** A fresh database (with citext) and a fresh project that uses it. */
async function fresh(): Promise<string> {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const [thisDb, thisClient] = [db, client];
  cleanups.push(async () => {
    await thisClient.end();
    await thisDb.drop();
  });
  await client.query('CREATE EXTENSION IF NOT EXISTS citext');
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-sync-identity-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await ok(dir, ['init']);
  return dir;
}

/** Runs the CLI in this process with `cwd` as the working directory, capturing its output. */
async function phasectl(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { cwd: process.cwd(), url: process.env.DATABASE_URL, release: process.env.PHASECTL_RELEASE };
  let stdout = '';
  let stderr = '';
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  process.env.DATABASE_URL = db.url;
  delete process.env.PHASECTL_RELEASE;
  process.chdir(cwd);
  try {
    const code = await run(['node', 'phasectl', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.chdir(saved.cwd);
    if (saved.url === undefined) delete process.env.DATABASE_URL;
    else process.env.DATABASE_URL = saved.url;
    if (saved.release !== undefined) process.env.PHASECTL_RELEASE = saved.release;
    outSpy.mockRestore();
    errSpy.mockRestore();
  }
}

async function ok(cwd: string, args: string[]): Promise<string> {
  const result = await phasectl(cwd, args);
  expect(result.code, `phasectl ${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  return result.stdout;
}

const rows = async (sql: string) => (await client.query(sql)).rows;

/** Writes that bypass every trigger (as a restore or a replica-mode session would): a planted divergence. */
async function bypassingTriggers(sql: string): Promise<void> {
  await client.query(behindSyncTriggers(sql));
}

/** Rows where the two columns' text forms differ, byte for byte. */
async function textDiffers(table: string, a: string, b: string): Promise<number> {
  const [row] = await rows(
    `SELECT count(*)::int AS n FROM ${table} WHERE (${a})::text COLLATE "C" IS DISTINCT FROM (${b})::text COLLATE "C"`,
  );
  return row.n as number;
}

describe('rename: identity, not equality', () => {
  // One column per kind of "equal but not identical" value, each renamed by its own change.
  const columns = ['c', 'ci', 'n', 'iv', 'f', 'arr', 'comp'];
  let dir: string;

  test('phase 1: writes that change only case or scale are copied both ways; verify counts such a difference', async () => {
    dir = await fresh();
    await client.query(`
      CREATE SCHEMA ident;
      CREATE COLLATION ident.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
      CREATE TYPE ident.pair AS (label citext, amount numeric);
      CREATE TABLE ident.things (id bigint PRIMARY KEY, c citext, ci text COLLATE ident.ci, n numeric, iv interval,
        f float8, arr numeric[], comp ident.pair);
      INSERT INTO ident.things SELECT g, 'abc', 'abc', 1.0, '1 day', 0, '{1.0}', '(abc,1.0)' FROM generate_series(1, 50) g;`);
    for (const column of columns) await ok(dir, ['plan', 'rename', `ident.things.${column}`, `${column}_new`]);
    await ok(dir, ['advance', '--release', '1.0.0']);
    await ok(dir, ['migrate']);
    for (const column of columns) expect(await textDiffers('ident.things', column, `${column}_new`)).toBe(0);

    // Row 1: the old columns change only case or scale; row 2: the new columns do.
    const changes = `c = 'ABC', ci = 'ABC', n = 1.00, iv = '24 hours', f = '-0', arr = '{1.00}', comp = '(ABC,1.00)'`;
    await client.query(`UPDATE ident.things SET ${changes} WHERE id = 1`);
    await client.query(`UPDATE ident.things SET ${changes.replace(/(\w+) = /g, '$1_new = ')} WHERE id = 2`);
    // An insert that gives both, differing only in case: the new column wins (the sync rule for inserts).
    await client.query(`INSERT INTO ident.things (id, c, c_new) VALUES (51, 'abc', 'ABC')`);
    for (const column of columns) expect(await textDiffers('ident.things', column, `${column}_new`), column).toBe(0);
    expect(
      await rows(`SELECT c::text, c_new::text, f::text, iv::text FROM ident.things WHERE id IN (1, 2, 51) ORDER BY id`),
    ).toEqual([
      { c: 'ABC', c_new: 'ABC', f: '-0', iv: '24:00:00' },
      { c: 'ABC', c_new: 'ABC', f: '-0', iv: '24:00:00' },
      { c: 'ABC', c_new: 'ABC', f: null, iv: null },
    ]);

    // A difference the sync never saw: verify must count it (equality would call the columns equal).
    await bypassingTriggers(
      `UPDATE ident.things SET c_new = 'aBc', n_new = 1.000, comp_new = '(abC,1.0)' WHERE id = 3`,
    );
    for (const [column, expected] of [
      ['c', 1],
      ['n', 1],
      ['comp', 1],
      ['iv', 0],
    ] as const) {
      const verify = await phasectl(dir, ['verify', `things-${column}-to-${column}-new`]);
      expect(verify.stdout, verify.stderr).toContain(`${expected} differing row(s)`);
      if (expected > 0) expect(verify.stderr).toContain(`phasectl backfill things-${column}-to-${column}-new --repair`);
    }
  });

  test('backfill --repair rewrites exactly the differing rows, even after the backfill finished', async () => {
    const plain = await ok(dir, ['backfill', 'things-c-to-c-new']);
    expect(plain).toContain('already finished');
    expect(plain).toContain('--repair');
    const repaired = await ok(dir, ['backfill', 'things-c-to-c-new', '--repair', '--json']);
    expect(JSON.parse(repaired.trim().split('\n').at(-1)!)).toMatchObject({ rowsUpdated: 1, alreadyFinished: false });
    // Its progress counts the rows it rewrote, not the first backfill's on top of them.
    const done = repaired
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type?: string; rowsDone?: number })
      .find((event) => event.type === 'backfill-done');
    expect(done).toMatchObject({ rowsDone: 1 });
    expect(await ok(dir, ['verify', 'things-c-to-c-new'])).toContain('0 differing row(s)');
    for (const column of ['n', 'comp']) await ok(dir, ['backfill', `things-${column}-to-${column}-new`, '--repair']);
    for (const column of columns) expect(await textDiffers('ident.things', column, `${column}_new`), column).toBe(0);
  });

  test('phase 3 verifies again and refuses while a copy differs, dropping nothing; after a repair it contracts', async () => {
    await ok(dir, ['advance', '--release', '2.0.0']);
    await ok(dir, ['migrate']);
    await ok(dir, ['advance', '--release', '3.0.0']);
    await bypassingTriggers(`UPDATE ident.things SET n = 2.50, n_new = 2.5 WHERE id = 4`);
    const refused = await phasectl(dir, ['migrate']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/verification of things-n-to-n-new found 1 row/);
    expect(refused.stderr).toContain('phasectl backfill things-n-to-n-new --repair');
    expect(await rows(`SELECT n::text, n_new::text FROM ident.things WHERE id = 4`)).toEqual([
      { n: '2.50', n_new: '2.5' },
    ]);

    await ok(dir, ['backfill', 'things-n-to-n-new', '--repair']);
    expect(await rows(`SELECT n::text, n_new::text FROM ident.things WHERE id = 4`)).toEqual([
      { n: '2.5', n_new: '2.5' }, // phase 2 is applied: the new column is the authority, as in the sync function
    ]);
    await ok(dir, ['migrate']);
    expect(await rows(`SELECT n_new::text AS n FROM ident.things WHERE id = 4`)).toEqual([{ n: '2.5' }]);
    const left = await rows(
      `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'ident.things'::regclass AND attnum > 0 AND NOT attisdropped`,
    );
    expect(left).toEqual([{ n: 1 + columns.length }]);
  });

  test('the generated contract refuses on its own (another runner that skipped the verify step)', async () => {
    const solo = await fresh();
    await client.query(
      `CREATE TABLE public.solo (id int PRIMARY KEY, v numeric); INSERT INTO public.solo VALUES (1, 1.0)`,
    );
    await ok(solo, ['plan', 'rename', 'public.solo.v', 'w']);
    for (const release of ['1', '2', '3']) await ok(solo, ['advance', '--release', release]);
    await ok(solo, ['migrate', '--to-release', '2']);
    // The verification recorded now is older than phase 2: the contract must not accept it as fresh.
    await client.query(`UPDATE phasectl.verifications SET checked_at = '2000-01-01' WHERE change_id = 'solo-v-to-w'`);
    const { contractSql } = await import('node:fs/promises').then(async (fs) => {
      const files = await fs.readdir(join(solo, 'db/migrations'));
      const name = files.find((file) => /_p3_\d+_contract\.up\.sql$/.test(file))!;
      return { contractSql: await fs.readFile(join(solo, 'db/migrations', name), 'utf8') };
    });
    await expect(client.query(`BEGIN; ${contractSql}; COMMIT`)).rejects.toThrow(
      /no verification since phase 2 found 0 differing rows/,
    );
    await client.query('ROLLBACK');
    expect(
      await rows(
        `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'public.solo'::regclass AND attname = 'v'`,
      ),
    ).toEqual([{ n: 1 }]);
  });
});

test('toasted, compressed and uncompressed copies of one value are identical: verify counts 0 and they stay equal', async () => {
  const dir = await fresh();
  await client.query(`CREATE TABLE public.docs (id int PRIMARY KEY, body text, hits int NOT NULL DEFAULT 0);
    INSERT INTO public.docs SELECT g, repeat(md5(g::text), 4000) FROM generate_series(1, 20) g;`);
  await ok(dir, ['plan', 'rename', 'public.docs.body', 'content']);
  await ok(dir, ['advance', '--release', '1']);
  await ok(dir, ['migrate']);
  // The copy stored again, uncompressed: the same value in another physical form.
  await bypassingTriggers(
    `ALTER TABLE public.docs ALTER COLUMN content SET STORAGE EXTERNAL; UPDATE public.docs SET content = body || ''`,
  );
  expect(
    await rows(`SELECT bool_and(pg_column_size(content) > 10 * pg_column_size(body)) AS stored_apart FROM public.docs`),
  ).toEqual([{ stored_apart: true }]);
  expect(await ok(dir, ['verify', 'docs-body-to-content'])).toContain('0 differing row(s)');
  await client.query(`UPDATE public.docs SET hits = hits + 1`);
  expect(await textDiffers('public.docs', 'body', 'content')).toBe(0);
});

describe('touch triggers: an application trigger that sets a synced column on updates that do not name it', () => {
  test('rename: updated_at set by a BEFORE trigger reaches the new column', async () => {
    const dir = await fresh();
    await client.query(`
      CREATE SCHEMA touch;
      CREATE TABLE touch.accounts (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL DEFAULT now());
      CREATE FUNCTION touch.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated_at := clock_timestamp(); RETURN NEW; END $$;
      CREATE TRIGGER stamp BEFORE UPDATE ON touch.accounts FOR EACH ROW EXECUTE FUNCTION touch.stamp();
      INSERT INTO touch.accounts (id, name) SELECT g, 'n' || g FROM generate_series(1, 20) g;`);
    await ok(dir, ['plan', 'rename', 'touch.accounts.updated_at', 'modified_at']);
    await ok(dir, ['advance', '--release', '1']);
    await ok(dir, ['migrate']);
    await client.query(`UPDATE touch.accounts SET name = 'renamed' WHERE id <= 5`);
    expect(await textDiffers('touch.accounts', 'updated_at', 'modified_at')).toBe(0);
    expect(await ok(dir, ['verify', 'accounts-updated-at-to-modified-at'])).toContain('0 differing row(s)');
  });

  test('rename: a BEFORE trigger created after phase 1 stops phase 2 until the sync trigger is re-created without its column list', async () => {
    const dir = await fresh();
    await client.query(`
      CREATE SCHEMA late;
      CREATE TABLE late.accounts (id int PRIMARY KEY, name text, label text);
      INSERT INTO late.accounts SELECT g, 'n' || g, 'l' || g FROM generate_series(1, 20) g;`);
    await ok(dir, ['plan', 'rename', 'late.accounts.label', 'tag']);
    await ok(dir, ['advance', '--release', '1']);
    await ok(dir, ['migrate']);
    const form = async () =>
      (
        await rows(`SELECT pg_catalog.cardinality(tgattr::int2[]) > 0 AS column_list, pg_catalog.cardinality(tgattr::int2[]) AS columns
                      FROM pg_catalog.pg_trigger WHERE tgrelid = 'late.accounts'::regclass AND tgname = 'zz_phasectl_sync_accounts_label_to_tag'`)
      )[0];
    // No other BEFORE UPDATE trigger: the update triggers fire only on updates that name tag or the key id (this one)
    // or label ($copy).
    expect(await form()).toEqual({ column_list: true, columns: 2 });
    // The application adds one that sets the old column on every update: the sync does not see those writes.
    await client.query(`
      CREATE FUNCTION late.stamp() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.label := upper(NEW.name); RETURN NEW; END $$;
      CREATE TRIGGER stamp BEFORE UPDATE ON late.accounts FOR EACH ROW EXECUTE FUNCTION late.stamp();
      UPDATE late.accounts SET name = 'renamed' WHERE id <= 3;`);
    expect(await textDiffers('late.accounts', 'label', 'tag')).toBe(3);
    await ok(dir, ['advance', '--release', '2']);
    const refused = await phasectl(dir, ['migrate']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('stamp on late.accounts');
    expect(refused.stderr).toContain('triggers/accounts-label-to-tag.sql');
    // The fix the hint names: apply the trigger definition again, repair, migrate.
    const definition = await readFile(join(dir, 'db', 'triggers', 'accounts-label-to-tag.sql'), 'utf8');
    for (const statement of splitStatements(definition)) await client.query(statement);
    expect(await form()).toEqual({ column_list: false, columns: 0 });
    await client.query(`UPDATE late.accounts SET name = 'again' WHERE id BETWEEN 6 AND 8`);
    expect(await textDiffers('late.accounts', 'label', 'tag')).toBe(3);
    await ok(dir, ['backfill', 'accounts-label-to-tag', '--repair']);
    expect(await textDiffers('late.accounts', 'label', 'tag')).toBe(0);
    await ok(dir, ['migrate']);
    await client.query(`UPDATE late.accounts SET name = 'third' WHERE id <= 10`);
    expect(await rows(`SELECT count(*)::int AS n FROM late.accounts WHERE tag = 'THIRD'`)).toEqual([{ n: 10 }]);
  });

  test('move: a BEFORE trigger on the source table that sets the moved column reaches the target row; case-only changes too', async () => {
    const dir = await fresh();
    await client.query(`
      CREATE SCHEMA mv;
      CREATE TABLE mv.users (id int PRIMARY KEY, name text, seen_at timestamptz);
      CREATE TABLE mv.profiles (user_id int PRIMARY KEY REFERENCES mv.users (id), bio text);
      CREATE FUNCTION mv.seen() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.seen_at := clock_timestamp(); RETURN NEW; END $$;
      CREATE TRIGGER seen BEFORE UPDATE ON mv.users FOR EACH ROW EXECUTE FUNCTION mv.seen();
      INSERT INTO mv.users SELECT g, 'n' || g, now() FROM generate_series(1, 20) g;
      INSERT INTO mv.profiles SELECT g, 'bio' FROM generate_series(1, 20) g;
      CREATE TABLE mv.accounts (id int PRIMARY KEY, nick citext);
      CREATE TABLE mv.cards (account_id int PRIMARY KEY REFERENCES mv.accounts (id));
      INSERT INTO mv.accounts SELECT g, 'nick' || g FROM generate_series(1, 20) g;
      INSERT INTO mv.cards SELECT g FROM generate_series(1, 20) g;`);
    await ok(dir, ['plan', 'move', 'mv.users.seen_at', 'mv.profiles.seen_at', '--on', 'id=user_id', '--id', 'seen']);
    await ok(dir, ['plan', 'move', 'mv.accounts.nick', 'mv.cards.nick', '--on', 'id=account_id', '--id', 'nick']);
    await ok(dir, ['advance', '--release', '1']);
    await ok(dir, ['migrate']);
    await client.query(`UPDATE mv.users SET name = 'renamed' WHERE id <= 5`);
    expect(
      await rows(
        `SELECT count(*)::int AS n FROM mv.users u JOIN mv.profiles p ON p.user_id = u.id WHERE u.seen_at IS DISTINCT FROM p.seen_at`,
      ),
    ).toEqual([{ n: 0 }]);
    await client.query(`UPDATE mv.accounts SET nick = 'NICK6' WHERE id = 6`);
    await client.query(`UPDATE mv.cards SET nick = 'Nick7' WHERE account_id = 7`);
    expect(await textDiffers('mv.accounts a JOIN mv.cards c ON c.account_id = a.id', 'a.nick', 'c.nick')).toBe(0);
    expect(
      await rows(
        `SELECT a.nick::text AS u, c.nick::text AS p FROM mv.accounts a JOIN mv.cards c ON c.account_id = a.id WHERE a.id IN (6, 7) ORDER BY a.id`,
      ),
    ).toEqual([
      { u: 'NICK6', p: 'NICK6' },
      { u: 'Nick7', p: 'Nick7' },
    ]);

    // Phase 3 of the move verifies again too: a case-only divergence stops it before any trigger or column goes.
    await ok(dir, ['advance', '--release', '2']);
    await ok(dir, ['migrate']);
    await ok(dir, ['advance', '--release', '3']);
    await bypassingTriggers(`UPDATE mv.cards SET nick = 'NICK8' WHERE account_id = 8`);
    const refused = await phasectl(dir, ['migrate']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('phasectl backfill nick --repair');
    expect(
      await rows(
        `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'mv.cards'::regclass AND tgname LIKE 'zz_phasectl_sync_nick%'`,
      ),
    ).toEqual([{ n: 3 }]); // update, insert, after insert: all still there
    await ok(dir, ['backfill', 'nick', '--repair']);
    // (The touch trigger names users.seen_at: the team rewrites it before phase 3 may drop the column.)
    await client.query('DROP TRIGGER seen ON mv.users');
    await ok(dir, ['migrate']);
    // Phase 2 is applied: the target column is the authority, as in the sync function.
    expect(await rows(`SELECT nick::text FROM mv.cards WHERE account_id = 8`)).toEqual([{ nick: 'NICK8' }]);
  });
});

test('a CASE expression as --up and --down generates valid plpgsql and syncs', async () => {
  const dir = await fresh();
  await client.query(`
    CREATE SCHEMA cases;
    CREATE TABLE cases.orders (id int PRIMARY KEY, status text);
    INSERT INTO cases.orders SELECT g, CASE WHEN g % 2 = 0 THEN 'paid' ELSE 'open' END FROM generate_series(1, 10) g;`);
  await ok(dir, [
    'plan',
    'rename',
    'cases.orders.status',
    'status_code',
    '--type',
    'integer',
    '--up',
    "CASE status WHEN 'paid' THEN 1 ELSE 0 END",
    '--down',
    "CASE status_code WHEN 1 THEN 'paid' ELSE 'open' END",
  ]);
  await ok(dir, ['advance', '--release', '1']);
  await ok(dir, ['migrate']);
  await client.query(
    `UPDATE cases.orders SET status = 'paid' WHERE id = 1; INSERT INTO cases.orders (id, status_code) VALUES (11, 1)`,
  );
  expect(await rows(`SELECT id, status, status_code FROM cases.orders WHERE id IN (1, 2, 3, 11) ORDER BY id`)).toEqual([
    { id: 1, status: 'paid', status_code: 1 },
    { id: 2, status: 'paid', status_code: 1 },
    { id: 3, status: 'open', status_code: 0 },
    { id: 11, status: 'paid', status_code: 1 },
  ]);
});

describe('a citext key: the walk compares keys with the operators its index orders by', () => {
  // Keys of mixed case under COLLATE "C": citext (the index, ORDER BY) orders them case-insensitively, text's
  // operators (what `>` resolves to with search_path = pg_catalog, pg_temp) by bytes. Mixing the two skips rows.
  const table = 'public.tags';
  let dir: string;

  test('migrate (the engine) fills every row and verify counts every row, under search_path = pg_catalog, pg_temp', async () => {
    dir = await fresh();
    await client.query(`ALTER DATABASE ${db.name} SET search_path = pg_catalog, pg_temp`);
    await client.query(`CREATE TABLE ${table} (code public.citext COLLATE "C" PRIMARY KEY, label text);
      INSERT INTO ${table} SELECT CASE WHEN g % 2 = 0 THEN pg_catalog.upper(pg_catalog.md5(g::text)) ELSE pg_catalog.md5(g::text) END, 'l' || g
      FROM pg_catalog.generate_series(1, 3000) AS g;`);
    await ok(dir, ['plan', 'rename', `${table}.label`, 'title']);
    await ok(dir, ['advance', '--release', '1']);
    await ok(dir, ['migrate', '--batch-size', '50']);
    expect(await textDiffers(table, 'label', 'title')).toBe(0);
    await bypassingTriggers(`UPDATE ${table} SET title = NULL WHERE label IN ('l2', 'l3', 'l2999', 'l3000')`);
    expect((await phasectl(dir, ['verify', 'tags-label-to-title', '--batch-size', '50'])).stdout).toContain(
      '4 differing row(s)',
    );
    await ok(dir, ['backfill', 'tags-label-to-title', '--repair', '--batch-size', '50']);
    expect(await textDiffers(table, 'label', 'title')).toBe(0);
  });

  test('the generated DO blocks (other runners) do the same', async () => {
    const files = await readdir(join(dir, 'db/migrations'));
    const backfill = await readFile(
      join(
        dir,
        'db/migrations',
        files.find((file) => file.endsWith('_backfill.up.sql'))!,
      ),
      'utf8',
    );
    await bypassingTriggers(`UPDATE ${table} SET title = NULL`);
    await client.query(`DELETE FROM phasectl.backfills`);
    // A session with the path every generated file sets: pg_catalog, pg_temp.
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      expect((await other.query('SHOW search_path')).rows[0].search_path).toBe('pg_catalog, pg_temp');
      for (const statement of splitStatements(backfill)) await other.query(statement);
      expect(await textDiffers(table, 'label', 'title')).toBe(0);
      expect((await other.query('SHOW search_path')).rows[0].search_path).toBe('pg_catalog, pg_temp');
    } finally {
      await other.end();
    }
  });
});
