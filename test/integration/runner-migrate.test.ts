import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { InputError, PhasectlError, RuntimeFailure } from '../../src/errors.js';
import { RUN_LOCK_KEY } from '../../src/session/advisory-lock.js';
import type { RunnerEvent } from '../../src/events.js';
import { migrate } from '../../src/commands/migrate.js';
import { rollback } from '../../src/commands/rollback.js';
import { createTestDatabase } from '../support/database.js';
import { client, header, makeProject, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll } from '../support/test-project.js';

const cleanups = cleanupsAfterAll();

/** A fresh database and project per test: phasectl.migrations must only hold that test's files. */
async function setup(files: Record<string, string>) {
  const db = await createTestDatabase();
  const project = await makeProject(files);
  cleanups.push(db.drop, project.remove);
  return { url: db.url, project };
}

// Stand-ins for generated files. Those run under search_path = pg_catalog, pg_temp and qualify every name; these
// hand-written ones name tables unqualified, so they set their own path (as any file may).
const tx = (change: string, release: string, step: string, body: string, phase: 1 | 2 | 3 = 1) =>
  `${header({ change, phase, step, release })}SET LOCAL lock_timeout = '2s';\nSET LOCAL statement_timeout = '30s';\nSET LOCAL search_path = public;\n${body}\n`;

describe('migrate', () => {
  test('applies pending files in file-name order, each recorded once; a second run has nothing to do', async () => {
    const { url, project } = await setup({
      '002_1.1.0_c_p1_01_second.up.sql': tx('c', '1.1.0', '01-second', 'ALTER TABLE t ADD COLUMN b int;'),
      '001_1.0.0_c_p1_01_first.up.sql': tx('c', '1.0.0', '01-first', 'CREATE TABLE t (id int PRIMARY KEY);'),
    });
    const result = await migrate({ databaseUrl: url, projectDir: project.dir });
    expect(result.applied.map((f) => f.name)).toEqual([
      '001_1.0.0_c_p1_01_first.up.sql',
      '002_1.1.0_c_p1_01_second.up.sql',
    ]);
    const rows = await query<{ name: string; change_id: string; release: string; phase: number }>(
      url,
      'SELECT name, change_id, release, phase FROM phasectl.migrations ORDER BY applied_at, name',
    );
    expect(rows.map((r) => [r.name.slice(0, 3), r.change_id, r.release, r.phase])).toEqual([
      ['001', 'c', '1.0.0', 1],
      ['002', 'c', '1.1.0', 1],
    ]);
    const columns = await query(
      url,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position`,
    );
    expect(columns.map((c) => c.column_name)).toEqual(['id', 'b']);
    const events: RunnerEvent[] = [];
    const again = await migrate({ databaseUrl: url, projectDir: project.dir, log: (e) => events.push(e) });
    expect(again.applied).toEqual([]);
    expect(events).toContainEqual({ type: 'up-to-date' });
  });

  test('a failing transactional file rolls back entirely and is not recorded; the error names file and statement', async () => {
    const { url, project } = await setup({
      '001_1.0.0_c_p1_01_bad.up.sql': tx(
        'c',
        '1.0.0',
        '01-bad',
        'CREATE TABLE half (id int);\nINSERT INTO half VALUES (1);\nSELECT 1 / (SELECT count(*) - 1 FROM half);',
      ),
    });
    const error = await migrate({ databaseUrl: url, projectDir: project.dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    const message = (error as RuntimeFailure).message;
    expect(message).toContain('001_1.0.0_c_p1_01_bad.up.sql');
    expect(message).toContain('SELECT 1 / (SELECT count(*) - 1 FROM half)');
    expect(message).toContain('division by zero');
    expect((error as RuntimeFailure).hint).toMatch(/rolled back/);
    expect(await query(url, `SELECT to_regclass('public.half') AS t`)).toEqual([{ t: null }]);
    expect(await query(url, 'SELECT name FROM phasectl.migrations')).toEqual([]);
  });

  test('transaction=false files run statement by statement (CREATE INDEX CONCURRENTLY) and reset session timeouts', async () => {
    const { url, project } = await setup({
      '001_1.0.0_c_p1_01_table.up.sql': tx(
        'c',
        '1.0.0',
        '01-table',
        'CREATE TABLE items (id int PRIMARY KEY, sku text); INSERT INTO items SELECT g, g::text FROM generate_series(1, 100) g;',
      ),
      '001_1.0.0_c_p1_02_index.up.sql':
        `${header({ change: 'c', phase: 1, step: '02-index', release: '1.0.0', transaction: false })}` +
        `SET lock_timeout = '3s';\nSET statement_timeout = '1min';\n` +
        `-- a comment with a ; inside\nCREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS items_sku_idx ON public.items (sku);\n` +
        `CREATE INDEX CONCURRENTLY IF NOT EXISTS "items sku lower" ON public.items (lower(sku));\n`,
    });
    await migrate({ databaseUrl: url, projectDir: project.dir });
    const indexes = await query<{ relname: string; indisvalid: boolean }>(
      url,
      `SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'items'::regclass AND NOT i.indisprimary ORDER BY 1`,
    );
    expect(indexes).toEqual([
      { relname: 'items sku lower', indisvalid: true },
      { relname: 'items_sku_idx', indisvalid: true },
    ]);
  });

  test('an INVALID index left by a failed concurrent build is dropped and rebuilt on the rerun', async () => {
    const indexFile =
      `${header({ change: 'c', phase: 1, step: '02-index', release: '1.0.0', transaction: false })}` +
      `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS dup_v_idx ON public.dup (v);\n`;
    const { url, project } = await setup({
      '001_1.0.0_c_p1_01_table.up.sql': tx(
        'c',
        '1.0.0',
        '01-table',
        'CREATE TABLE dup (id int PRIMARY KEY, v int); INSERT INTO dup VALUES (1, 1), (2, 1);',
      ),
      '001_1.0.0_c_p1_02_index.up.sql': indexFile,
    });
    const error = await migrate({ databaseUrl: url, projectDir: project.dir }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/could not create unique index/);
    expect((error as RuntimeFailure).hint).toMatch(/idempotent/);
    expect(await query(url, `SELECT indisvalid FROM pg_index WHERE indexrelid = 'dup_v_idx'::regclass`)).toEqual([
      { indisvalid: false },
    ]);
    await query(url, 'UPDATE dup SET v = 2 WHERE id = 2');
    const events: RunnerEvent[] = [];
    const result = await migrate({ databaseUrl: url, projectDir: project.dir, log: (e) => events.push(e) });
    expect(result.applied.map((f) => f.name)).toEqual(['001_1.0.0_c_p1_02_index.up.sql']);
    expect(events).toContainEqual({
      type: 'index-rebuild',
      file: '001_1.0.0_c_p1_02_index.up.sql',
      index: 'public.dup_v_idx',
    });
    expect(
      await query(url, `SELECT indisvalid, indisunique FROM pg_index WHERE indexrelid = 'dup_v_idx'::regclass`),
    ).toEqual([{ indisvalid: true, indisunique: true }]);
  });

  test('an applied file whose checksum changed stops migrate with the file, applied-at and the fix', async () => {
    const { url, project } = await setup({
      '001_1.0.0_c_p1_01_a.up.sql': tx('c', '1.0.0', '01-a', 'CREATE TABLE a (id int);'),
    });
    await migrate({ databaseUrl: url, projectDir: project.dir });
    await project.write('001_1.0.0_c_p1_01_a.up.sql', tx('c', '1.0.0', '01-a', 'CREATE TABLE a (id bigint);'));
    await project.write('002_1.1.0_c_p2_01_b.up.sql', tx('c', '1.1.0', '01-b', 'CREATE TABLE b (id int);', 2));
    const error = await migrate({ databaseUrl: url, projectDir: project.dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PhasectlError);
    expect((error as PhasectlError).message).toMatch(
      /migration 001_1\.0\.0_c_p1_01_a\.up\.sql changed after it was applied at \d{4}-/,
    );
    expect((error as PhasectlError).hint).toMatch(/immutable.*restore the file from git.*new release/);
    expect(await query(url, `SELECT to_regclass('public.b') AS t`)).toEqual([{ t: null }]);
  });

  test('a file recorded as applied but missing on disk is an error', async () => {
    const { url, project } = await setup({
      '001_1.0.0_c_p1_01_a.up.sql': tx('c', '1.0.0', '01-a', 'CREATE TABLE a (id int);'),
    });
    await migrate({ databaseUrl: url, projectDir: project.dir });
    const { rm } = await import('node:fs/promises');
    await rm(join(project.dir, 'db', 'migrations', '001_1.0.0_c_p1_01_a.up.sql'));
    await expect(migrate({ databaseUrl: url, projectDir: project.dir })).rejects.toThrow(
      /001_1\.0\.0_c_p1_01_a\.up\.sql was applied at .* but is missing/,
    );
  });

  test('files without a phasectl header run in a transaction and are recorded with change_id NULL', async () => {
    const { url, project } = await setup({
      '000_seed.sql': 'CREATE TABLE seed (id int);\nINSERT INTO seed VALUES (1);\n',
    });
    await migrate({ databaseUrl: url, projectDir: project.dir });
    expect(await query(url, 'SELECT name, change_id, phase, direction FROM phasectl.migrations')).toEqual([
      { name: '000_seed.sql', change_id: null, phase: null, direction: 'up' },
    ]);
    expect(await query(url, 'SELECT id FROM seed')).toEqual([{ id: 1 }]);
  });

  test('a second migrate while one holds the run lock fails at once naming the holder pid, changing nothing', async () => {
    const { url, project } = await setup({
      '001_1.0.0_c_p1_01_a.up.sql': tx('c', '1.0.0', '01-a', 'CREATE TABLE a (id int);'),
    });
    const holder = await client(url);
    try {
      await holder.query('SELECT pg_advisory_lock($1::bigint)', [RUN_LOCK_KEY]);
      const pid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const error = await migrate({ databaseUrl: url, projectDir: project.dir }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RuntimeFailure);
      expect((error as RuntimeFailure).exitCode).toBe(3);
      expect((error as RuntimeFailure).message).toContain(`another phasectl migrate is running (backend pid ${pid}`);
      expect(await query(url, `SELECT to_regclass('public.a') AS t`)).toEqual([{ t: null }]);
      // With --wait-lock the second run waits and goes on once the first releases.
      const waiting = migrate({ databaseUrl: url, projectDir: project.dir, waitLockSeconds: 30 });
      await new Promise((resolve) => setTimeout(resolve, 700));
      await holder.query('SELECT pg_advisory_unlock($1::bigint)', [RUN_LOCK_KEY]);
      expect((await waiting).applied).toHaveLength(1);
    } finally {
      await holder.end();
    }
  });

  test('--to-release stops after the last file of that release', async () => {
    const { url, project } = await setup({
      '001_1.0.0_c_p1_01_a.up.sql': tx('c', '1.0.0', '01-a', 'CREATE TABLE a (id int);'),
      '001_1.0.0_c_p1_02_b.up.sql': tx('c', '1.0.0', '02-b', 'CREATE TABLE b (id int);'),
      '002_1.1.0_c_p2_01_c.up.sql': tx('c', '1.1.0', '01-c', 'CREATE TABLE c (id int);', 2),
    });
    const result = await migrate({ databaseUrl: url, projectDir: project.dir, toRelease: '1.0.0' });
    expect(result.applied.map((f) => f.name.slice(0, 12))).toEqual(['001_1.0.0_c_', '001_1.0.0_c_']);
    expect(await query(url, `SELECT to_regclass('public.c') AS t`)).toEqual([{ t: null }]);
    await expect(migrate({ databaseUrl: url, projectDir: project.dir, toRelease: '9.9.9' })).rejects.toBeInstanceOf(
      InputError,
    );
  });

  test('--dry-run prints what would run and changes nothing (not even the state schema)', async () => {
    const body = tx('c', '1.0.0', '01-a', 'CREATE TABLE a (id int);');
    const { url, project } = await setup({ '001_1.0.0_c_p1_01_a.up.sql': body });
    const events: RunnerEvent[] = [];
    const result = await migrate({
      databaseUrl: url,
      projectDir: project.dir,
      dryRun: true,
      log: (e) => events.push(e),
    });
    expect(result.pending).toEqual(['001_1.0.0_c_p1_01_a.up.sql']);
    expect(events).toContainEqual({
      type: 'file-dry-run',
      file: '001_1.0.0_c_p1_01_a.up.sql',
      sql: body,
      action: 'sql',
      note: undefined,
    });
    expect(await query(url, `SELECT to_regclass('public.a') AS t, to_regnamespace('phasectl') AS s`)).toEqual([
      { t: null, s: null },
    ]);
  });

  test('a missing phases.yaml is an InputError that says to run phasectl init', async () => {
    const { url, project } = await setup({});
    const { rm } = await import('node:fs/promises');
    await rm(join(project.dir, 'phases.yaml'));
    const error = await migrate({ databaseUrl: url, projectDir: project.dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).hint).toContain('phasectl init');
  });

  test('an unreachable server or a bad password: one line with host:port/db, no password', async () => {
    const { url, project } = await setup({});
    const bad = new URL(url);
    bad.password = 'wrong-secret-pw';
    const error = await migrate({ databaseUrl: bad.toString(), projectDir: project.dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect((error as Error).message).toContain(`${bad.hostname}:${bad.port}${bad.pathname}`);
    expect((error as Error).message).not.toContain('wrong-secret-pw');
    const closed = new URL(url);
    closed.port = '1';
    const refused = await migrate({ databaseUrl: closed.toString(), projectDir: project.dir }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RuntimeFailure);
    expect((refused as RuntimeFailure).exitCode).toBe(3);
    expect((refused as Error).message).toMatch(/cannot connect to PostgreSQL at .*:1\//);
  });
});

describe('rollback', () => {
  test('runs the downs of the newest release, removes its up files, refuses an older release', async () => {
    const down = (change: string, release: string, step: string, body: string, phase: 1 | 2 | 3) =>
      `${header({ change, phase, direction: 'down', step, release })}SET LOCAL search_path = public;\n${body}\n`;
    const { url, project } = await setup({
      '001_1.0.0_c_p1_01_a.up.sql': tx('c', '1.0.0', '01-a', 'CREATE TABLE a (id int);'),
      '001_1.0.0_c_p1_01_a.down.sql': down('c', '1.0.0', '01-a', 'DROP TABLE a;', 1),
      '002_1.1.0_c_p2_01_b.up.sql': tx('c', '1.1.0', '01-b', 'CREATE TABLE b (id int);', 2),
      '002_1.1.0_c_p2_01_undo.down.sql': down('c', '1.1.0', '01-undo', 'CREATE TABLE log (step text);', 2),
      '002_1.1.0_c_p2_02_drop.down.sql': down(
        'c',
        '1.1.0',
        '02-drop',
        `INSERT INTO log VALUES ('drop'); DROP TABLE b;`,
        2,
      ),
      '002_1.1.0_d_p1_01_d.up.sql': tx('d', '1.1.0', '01-d', 'CREATE TABLE d (id int);'),
      '002_1.1.0_d_p1_01_d.down.sql': down('d', '1.1.0', '01-d', `DROP TABLE d;`, 1),
    });
    await migrate({ databaseUrl: url, projectDir: project.dir });
    const refused = await rollback({ databaseUrl: url, projectDir: project.dir, release: '1.0.0' }).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(InputError);
    expect((refused as InputError).message).toContain('1.1.0 was applied after it');
    expect((refused as InputError).hint).toBe('roll back 1.1.0 first: phasectl rollback --release 1.1.0');

    const result = await rollback({ databaseUrl: url, projectDir: project.dir, release: '1.1.0' });
    // Groups in reverse file-name order (d before c), each group's downs ascending.
    expect(result.ran.map((r) => r.name)).toEqual([
      '002_1.1.0_d_p1_01_d.down.sql',
      '002_1.1.0_c_p2_01_undo.down.sql',
      '002_1.1.0_c_p2_02_drop.down.sql',
    ]);
    expect(
      await query(
        url,
        `SELECT to_regclass('public.b') AS b, to_regclass('public.d') AS d, to_regclass('public.a')::text AS a`,
      ),
    ).toEqual([{ b: null, d: null, a: 'a' }]);
    expect(await query(url, 'SELECT name FROM phasectl.migrations')).toEqual([{ name: '001_1.0.0_c_p1_01_a.up.sql' }]);
    expect((await query(url, `SELECT count(*)::int AS n FROM phasectl.history WHERE direction = 'down'`))[0]).toEqual({
      n: 3,
    });
    // The release can be applied again afterwards.
    expect((await migrate({ databaseUrl: url, projectDir: project.dir })).applied).toHaveLength(2);
    expect(await readFile(join(project.dir, 'phases.yaml'), 'utf8')).toContain('version');
  });
});
