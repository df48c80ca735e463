import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { initialPhasesText } from '../../src/commands/init.js';
import { runCli } from '../support/cli-process.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';

/**
 * Issue 17 item 11: `plan move … --on email=user_id` (text = bigint) was accepted and after phase 1 every INSERT
 * into users failed (operator does not exist: bigint = text). The join columns must have the same type once
 * domains are resolved, and the same collation: refused at plan, exit 2, nothing written.
 */

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let dir: string;
beforeAll(async () => {
  db = await createTestDatabase();
  dir = await mkdtemp(join(tmpdir(), 'phasectl-join-types-'));
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText());
  await query(
    db.url,
    `
    CREATE DOMAIN public.user_ref AS bigint;
    CREATE TABLE public.users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, code text COLLATE "C" NOT NULL UNIQUE, small int NOT NULL UNIQUE, address text);
    CREATE TABLE public.profiles (user_id bigint UNIQUE, email text UNIQUE, code text UNIQUE, small bigint UNIQUE);
    CREATE TABLE public.by_domain (user_id public.user_ref UNIQUE);
    INSERT INTO public.users SELECT g, 'u' || g || '@x', 'c' || g, g, 'street ' || g FROM generate_series(1, 20) g;
    INSERT INTO public.profiles (user_id, email, code, small) SELECT g, 'u' || g || '@x', 'c' || g, g FROM generate_series(1, 20) g;
    INSERT INTO public.by_domain SELECT g FROM generate_series(1, 20) g;`,
  );
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await db?.drop();
});

const plan = (target: string, on: string) =>
  runCli(['plan', 'move', 'users.address', `${target}.address`, '--on', on, '--database-url', db.url], {}, dir);

test('text = bigint is refused at plan, naming both columns, their types and the fix; nothing written', async () => {
  const before = await readFile(join(dir, 'phases.yaml'), 'utf8');
  const result = await plan('profiles', 'email=user_id');
  expect(result.code, result.stderr).toBe(2);
  expect(result.stderr).toContain(
    '--on email=user_id: public.users.email is text but public.profiles.user_id is bigint',
  );
  expect(result.stderr).toMatch(/fix: join on columns of the same type/);
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(before);
  expect(
    await query(
      db.url,
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'profiles' AND column_name = 'address'`,
    ),
  ).toEqual([{ n: 0 }]);
}, 120_000);

test('integer = bigint and a different collation are refused too (same type and collation, strictly)', async () => {
  const widths = await plan('profiles', 'small=small');
  expect(widths.code, widths.stderr).toBe(2);
  expect(widths.stderr).toContain('public.users.small is integer but public.profiles.small is bigint');
  const collations = await plan('profiles', 'code=code');
  expect(collations.code, collations.stderr).toBe(2);
  expect(collations.stderr).toContain(
    `public.users.code is text COLLATE pg_catalog."C" but public.profiles.code is text COLLATE pg_catalog."default"; the join columns' collations differ`,
  );
}, 120_000);

test('a domain over the same base type joins: the move is planned', async () => {
  const result = await plan('by_domain', 'id=user_id');
  expect(result.code, result.stderr).toBe(0);
  expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toContain('table: by_domain');
}, 120_000);
