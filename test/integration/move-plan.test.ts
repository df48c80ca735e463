import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import { planMove } from '../../src/commands/plan-move.js';
import { migrate } from '../../src/commands/migrate.js';
import { rollback } from '../../src/commands/rollback.js';
import { droppedColumn } from '../../src/spec/change-columns.js';
import { loadPhasesFile, parsePhasesText } from '../../src/spec/load.js';
import { status } from '../../src/commands/status.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, emptyProject } from '../support/test-project.js';

/** `plan move` against a real catalog: what it records, what it refuses (with the fix), and status afterwards. */
const cleanups = cleanupsAfterAll();
let url: string;
beforeAll(async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  url = db.url;
  await query(
    url,
    `
    CREATE TABLE public.users (id bigint PRIMARY KEY, email text, address text, city text, CHECK (length(address) < 100));
    CREATE INDEX users_address_city_idx ON public.users (address, city);
    CREATE TABLE public.profiles (id serial PRIMARY KEY, user_id bigint UNIQUE, address text);
    CREATE TABLE public.loose (user_id bigint, address text);
    CREATE TABLE public.typed (user_id bigint UNIQUE, email varchar(20));
    CREATE TABLE public.filled (user_id bigint UNIQUE, email text);
    CREATE TABLE public.parent_profiles (user_id bigint UNIQUE NOT NULL, note text);
    CREATE TABLE public.child_profiles (extra int) INHERITS (public.parent_profiles);
    INSERT INTO public.users VALUES (1, 'a@x', 'street 1', 'Paris'), (2, 'b@x', 'street 2', 'Oslo');
    INSERT INTO public.profiles (user_id, address) VALUES (1, 'street 1'), (2, NULL);
    INSERT INTO public.filled VALUES (1, 'a@x'), (2, 'other@x');`,
  );
});

async function project(): Promise<string> {
  const dir = await emptyProject(cleanups, 'phasectl-move-plan-');
  return dir;
}

test('refusals name the object and the fix', async () => {
  const dir = await project();
  await expect(
    planMove({ projectDir: dir, from: 'users.email', to: 'loose.email', on: 'id=user_id', databaseUrl: url }),
  ).rejects.toMatchObject({
    message: expect.stringMatching(/"public"."loose"|public\.loose/),
    hint: 'add it without blocking writes, then plan again: CREATE UNIQUE INDEX CONCURRENTLY "loose_user_id_key" ON "public"."loose" ("user_id");',
  });
  await expect(
    planMove({ projectDir: dir, from: 'users.email', to: 'typed.email', on: 'id=user_id', databaseUrl: url }),
  ).rejects.toThrow(/exists with type character varying\(20\), but the source column is text/);
  await expect(
    planMove({ projectDir: dir, from: 'users.email', to: 'filled.email', on: 'id=user_id', databaseUrl: url }),
  ).rejects.toThrow(/1 of its rows hold a value that is not their source row's email/);
  await expect(
    planMove({ projectDir: dir, from: 'users.email', to: 'profiles.email', on: 'city=user_id', databaseUrl: url }),
  ).rejects.toThrow(/not a unique NOT NULL key/);
  await expect(
    planMove({ projectDir: dir, from: 'users.email', to: 'profiles.email', on: 'id=nope', databaseUrl: url }),
  ).rejects.toThrow(/has no column "?nope"? \(named in --on\)/);
  await expect(
    planMove({ projectDir: dir, from: 'users.email', to: 'profiles.email', on: 'id', databaseUrl: url }),
  ).rejects.toThrow(/is not <source column>=<target column>/);
  // The target's sync trigger would not fire for the rows of its INHERITS children.
  await expect(
    planMove({ projectDir: dir, from: 'users.email', to: 'parent_profiles.email', on: 'id=user_id', databaseUrl: url }),
  ).rejects.toThrow(/public\.parent_profiles has child tables by INHERITS \(public\.child_profiles\)/);
  expect((await loadPhasesFile(join(dir, 'phases.yaml'))).spec.changes).toEqual([]);
});

test('plan move records the change; an existing target column equal to the source is accepted and kept by phase 1 down; status reads both tables', async () => {
  const dir = await project();
  // The index that also covers city cannot move with address.
  await expect(
    planMove({ projectDir: dir, from: 'users.address', to: 'profiles.address', on: 'id=user_id', databaseUrl: url }),
  ).rejects.toThrow(/index users_address_city_idx of public.users also use\(s\) other columns than address/);
  await query(url, 'DROP INDEX public.users_address_city_idx');
  const { change, plan } = await planMove({
    projectDir: dir,
    from: 'public.users.address',
    to: 'public.profiles.address',
    on: 'id=user_id',
    databaseUrl: url,
  });
  expect(change).toMatchObject({
    id: 'users-address-to-profiles',
    move: {
      from: { schema: 'public', table: 'users', column: 'address' },
      to: { schema: 'public', table: 'profiles', column: 'address' },
      on: [{ from: 'id', to: 'user_id' }],
    },
    column: { type: 'text', nullable: true, constraints: [{ name: 'users_address_check', kind: 'check' }] },
    key: { columns: ['id'], types: ['bigint'] },
    target: { existingColumn: true, uniqueIndex: 'profiles_user_id_key' },
  });
  expect(plan).toContain('use the existing public.profiles.address');
  const text = await readFile(join(dir, 'phases.yaml'), 'utf8');
  expect(text).toContain('from: { schema: public, table: users, column: address }');
  expect(parsePhasesText(text, 'phases.yaml').spec.changes[0]).toEqual(change);
  expect(droppedColumn(change)).toEqual({ schema: 'public', table: 'users', column: 'address' });

  await advance({ projectDir: dir, release: '1.0.0' });
  await migrate({ databaseUrl: url, projectDir: dir });
  const report = await status({ databaseUrl: url, projectDir: dir });
  expect(report.changes[0]).toMatchObject({
    table: 'public.users',
    from: 'address',
    to: 'public.profiles.address',
    phaseInDatabase: 1,
    triggerPresent: true,
    functionPresent: true,
    oldColumnPresent: true,
    newColumnPresent: true,
    drift: [],
  });
  expect(await query(url, 'SELECT user_id, address FROM public.profiles ORDER BY user_id')).toEqual([
    { user_id: '1', address: 'street 1' },
    { user_id: '2', address: 'street 2' },
  ]);
  await rollback({ databaseUrl: url, projectDir: dir, release: '1.0.0' });
  // The target column existed before phase 1: its rollback removes the triggers but keeps the column.
  expect(await query(url, `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'zz_phasectl_sync_%'`)).toEqual([
    { n: 0 },
  ]);
  expect(await query(url, 'SELECT user_id, address FROM public.profiles ORDER BY user_id')).toEqual([
    { user_id: '1', address: 'street 1' },
    { user_id: '2', address: 'street 2' },
  ]);
});

test('phases.yaml: a move on the same table is refused with the fix; an unknown key in move.from gets "did you mean"', () => {
  const base = 'version: 1\nchanges:\n  - id: m\n    move:\n      from: { schema: public, table: users, column: a }\n';
  const facts = '    column: { type: text, nullable: true }\n    key: { columns: [id], types: [bigint] }\n';
  expect(() =>
    parsePhasesText(
      `${base}      to: { schema: public, table: users, column: b }\n      on: [{ from: id, to: id }]\n${facts}`,
      'phases.yaml',
    ),
  ).toThrow(/same table as `from`: that is a rename/);
  expect(() =>
    parsePhasesText(
      `${base}      to: { schema: public, table: p, colum: b }\n      on: [{ from: id, to: user_id }]\n${facts}`,
      'phases.yaml',
    ),
  ).toThrow(/missing key "column" in changes\[0\]\.move\.to|unknown key "colum"/);
});
