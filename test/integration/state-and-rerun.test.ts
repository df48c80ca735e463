import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { migrate } from '../../src/commands/migrate.js';
import { createTestDatabase } from '../support/database.js';
import { generatedProject } from '../support/fixtures-generated.js';
import { client, makeProject, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll } from '../support/test-project.js';

const cleanups = cleanupsAfterAll();

const durationTypes = `SELECT c.relname AS table, pg_catalog.format_type(a.atttypid, a.atttypmod) AS type
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'phasectl' AND a.attname = 'duration_ms' ORDER BY 1`;

test('a state schema of an older phasectl (duration_ms int) is widened to bigint once, keeping its rows', async () => {
  const db = await createTestDatabase();
  const project = await makeProject({});
  cleanups.push(db.drop, project.remove);
  await query(
    db.url,
    `CREATE SCHEMA phasectl;
    CREATE TABLE phasectl.migrations (name text PRIMARY KEY, checksum text NOT NULL, change_id text, phase int, direction text,
      release text, applied_at timestamptz NOT NULL DEFAULT now(), duration_ms int);
    CREATE TABLE phasectl.history (id bigserial PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, change_id text, phase int,
      direction text, release text, ran_at timestamptz NOT NULL DEFAULT now(), duration_ms int);
    INSERT INTO phasectl.history (name, checksum, phase, duration_ms) VALUES ('001_old.up.sql', 'x', 1, 1234);`,
  );

  await migrate({ databaseUrl: db.url, projectDir: project.dir });
  expect(await query(db.url, durationTypes)).toEqual([
    { table: 'history', type: 'bigint' },
    { table: 'migrations', type: 'bigint' },
  ]);
  expect(await query(db.url, `SELECT name, phase, duration_ms::int AS ms FROM phasectl.history`)).toEqual([
    { name: '001_old.up.sql', phase: 1, ms: 1234 },
  ]);

  // Again: nothing left to widen, so no table is rewritten (its file node stays).
  const before = await query(db.url, `SELECT pg_relation_filenode('phasectl.migrations') AS node`);
  await migrate({ databaseUrl: db.url, projectDir: project.dir });
  expect(await query(db.url, `SELECT pg_relation_filenode('phasectl.migrations') AS node`)).toEqual(before);
}, 180_000);

test('a second run of a completed contract: on a small table it succeeds, on a big one it stops without a long lock, changing nothing', async () => {
  const db = await createTestDatabase();
  const project = await generatedProject(db.url, { rows: 50, releases: ['1.0.0', '1.1.0', '1.2.0'] });
  cleanups.push(db.drop, project.remove);
  await migrate({ databaseUrl: db.url, projectDir: project.dir });
  const contract = readdirSync(join(project.dir, 'db/migrations')).find((name) => name.endsWith('_contract.up.sql'))!;
  const sql = readFileSync(join(project.dir, 'db/migrations', contract), 'utf8');
  const shape = `SELECT (SELECT attnotnull FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'favourite_color') AS not_null,
    (SELECT count(*)::int FROM pg_constraint WHERE conrelid = 'public.users'::regclass AND contype = 'c') AS checks`;
  expect(await query(db.url, shape)).toEqual([{ not_null: true, checks: 0 }]);

  const session = await client(db.url);
  try {
    // Small: the check comes back NOT VALID, VALIDATE scans a few pages, and it goes again.
    await session.query(`BEGIN;\n${sql}\nCOMMIT;`);
    expect(await query(db.url, shape)).toEqual([{ not_null: true, checks: 0 }]);

    // Big (over 8 MB): the file stops at its guard before re-adding the check, so no scan under the exclusive lock.
    await query(
      db.url,
      `INSERT INTO public.users (id, favourite_color) SELECT g, repeat('x', 40) FROM generate_series(1000, 201000) g`,
    );
    const error = await session.query(`BEGIN;\n${sql}\nCOMMIT;`).catch((e: unknown) => e as Error);
    await session.query('ROLLBACK');
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /users_favourite_color_not_null_check on "public"."users" is gone, and validating it again would scan a big table/,
    );
    expect(await query(db.url, shape)).toEqual([{ not_null: true, checks: 0 }]);
  } finally {
    await session.end();
  }
}, 180_000);
