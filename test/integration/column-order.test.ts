import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { readRenameFacts } from '../../src/catalog/column-facts.js';
import { readMoveDependents, readRenameDependents } from '../../src/catalog/dependents-record.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { phaseSteps } from '../../src/operations/index.js';
import type { MoveChange, RenameChange } from '../../src/spec/types.js';
import { applySteps } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';
import { lifecycle } from '../support/hardening-rename.js';

/**
 * Phase 1 adds the new column last and phase 3 drops the old one: a function that inserts into the table without a
 * column list then puts its values into other columns, silently when the types line up. Plan lists it, phase 3
 * refuses while it is unchanged.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
let connection: Connection;
beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  connection = await connect(db.url, { max: 1 });
});
afterAll(async () => {
  await connection?.close();
  await client?.end();
  await db?.drop();
});

/** Plans the rename of `schema.users.job_title` to `title` with plan's own readers. */
async function planned(schema: string): Promise<{ change: RenameChange; notes: string[] }> {
  const target = { schema, table: 'users', column: 'job_title' };
  const { column, key, foreignKeys } = await readRenameFacts(connection.db, target, 'title');
  const { dependents, notes } = await readRenameDependents(connection.db, target, 'title', { foreignKeys });
  return {
    change: {
      kind: 'rename',
      id: `${schema}-users`,
      rename: { schema, table: 'users', from: 'job_title', to: 'title' },
      column,
      key,
      dependents,
      releases: { phase1: '1', phase2: '2', phase3: '3' },
    },
    notes,
  };
}

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (caught: Error) => caught,
  );

async function setUp(schema: string): Promise<void> {
  await client.query(`CREATE SCHEMA ${schema};
    CREATE TABLE ${schema}.users (id int PRIMARY KEY, job_title text, note text);
    CREATE TABLE ${schema}.users_archive (id int, job_title text, note text);
    -- Positional: the values follow the table's column order.
    CREATE FUNCTION ${schema}.add_user(i int, t text, n text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ${schema}.users VALUES (i, t, n);
    END $$;
    -- Values that stop before the column: unchanged by phase 3.
    CREATE FUNCTION ${schema}.add_id(i int) RETURNS void LANGUAGE sql AS $$ INSERT INTO ${schema}.users VALUES (i) $$;
    INSERT INTO ${schema}.users VALUES (1, 'dev', 'first');`);
}

test('a function inserting into the table by position: listed at plan, phase 3 refuses until it names the columns', async () => {
  await setUp('ord');
  const { change, notes } = await planned('ord');
  expect(change.dependents?.functions).toEqual([
    expect.objectContaining({ name: 'ord.add_user(integer,text,text)', namesColumn: false, byPosition: 3 }),
  ]);
  expect(notes.join('\n')).toContain(
    '  - ord.add_user(integer,text,text), line 3 of its body: INSERT INTO ord.users VALUES (i, t, n)',
  );
  expect(notes.join('\n')).toContain('work before phase 3: 1 function(s) map the columns of ord.users by position');
  const life = lifecycle(client, change);
  await life.up(1);
  await life.up(2);
  const error = await failure(life.up(3));
  expect(error?.message).toBe(
    'phasectl: change ord-users cannot drop "job_title": function ord.add_user(integer,text,text) maps the columns of "ord"."users" by position',
  );
  expect((error as { hint?: string }).hint).toMatch(/name the columns/);
  // Nothing dropped.
  expect((await client.query(`SELECT job_title FROM ord.users WHERE id = 1`)).rows).toEqual([{ job_title: 'dev' }]);
  // Named: phase 3 goes through and the function writes where it means to.
  await client.query(`CREATE OR REPLACE FUNCTION ord.add_user(i int, t text, n text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ord.users (id, title, note) VALUES (i, t, n);
    END $$`);
  await life.up(3);
  await client.query(`SELECT ord.add_user(2, 'ops', 'second'), ord.add_user(3, 'x', 'third'), ord.add_id(4)`);
  expect((await client.query(`SELECT id, title, note FROM ord.users ORDER BY id`)).rows).toEqual([
    { id: 1, title: 'dev', note: 'first' },
    { id: 2, title: 'ops', note: 'second' },
    { id: 3, title: 'x', note: 'third' },
    { id: 4, title: null, note: null },
  ]);
});

test('what the refusal prevents: the same function exempted by hand writes its values one column off after phase 3', async () => {
  await setUp('shift');
  const { change } = await planned('shift');
  const life = lifecycle(client, change);
  await life.up(1);
  await life.up(2);
  await client.query(`COMMENT ON FUNCTION shift.add_user(int, text, text) IS 'phasectl: not shift-users'`);
  await life.up(3);
  // A new session compiles the function against the new column order: (id, note, title).
  const fresh = new pg.Client({ connectionString: db.url });
  await fresh.connect();
  try {
    await fresh.query(`SELECT shift.add_user(2, 'ops', 'second')`);
  } finally {
    await fresh.end();
  }
  expect((await client.query(`SELECT id, title, note FROM shift.users ORDER BY id`)).rows).toEqual([
    { id: 1, title: 'dev', note: 'first' },
    { id: 2, title: 'second', note: 'ops' },
  ]);
});

test('a move: a function inserting into the source table by position is listed, and phase 3 refuses before the sync goes', async () => {
  await client.query(`CREATE SCHEMA mv;
    CREATE TABLE mv.users (id bigint PRIMARY KEY, address text, note text);
    CREATE TABLE mv.profiles (id serial PRIMARY KEY, user_id bigint UNIQUE);
    INSERT INTO mv.users VALUES (1, 'street 1', 'n1');
    INSERT INTO mv.profiles (user_id) VALUES (1);
    CREATE FUNCTION mv.add_user(i bigint, a text, n text) RETURNS void LANGUAGE sql AS $$
      INSERT INTO mv.users VALUES (i, a, n) $$;`);
  const from = { schema: 'mv', table: 'users', column: 'address' };
  const to = { schema: 'mv', table: 'profiles', column: 'address' };
  const on = [{ from: 'id', to: 'user_id' }];
  const { dependents, notes } = await readMoveDependents(connection.db, from, to, on);
  expect(dependents.functions).toEqual([
    expect.objectContaining({ name: 'mv.add_user(bigint,text,text)', namesColumn: false, byPosition: 2 }),
  ]);
  expect(notes.join('\n')).toContain('phase 3 drops address from it');
  const move: MoveChange = {
    kind: 'move',
    id: 'mv-move',
    move: { from, to, on },
    column: { type: 'text', nullable: true, indexes: [], constraints: [] },
    key: { columns: ['id'], types: ['bigint'] },
    target: { existingColumn: false },
    dependents,
    releases: { phase1: '1', phase2: '2', phase3: '3' },
  };
  await applySteps(client, phaseSteps(move, 1).up);
  await applySteps(client, phaseSteps(move, 2).up);
  const error = await failure(applySteps(client, phaseSteps(move, 3).up));
  expect(error?.message).toBe(
    'phasectl: change mv-move cannot drop "address": function mv.add_user(bigint,text,text) maps the columns of "mv"."users" by position',
  );
  // Refused in the unsync step: the sync trigger on the target is still there, the column too.
  const present = await client.query(
    `SELECT count(*) > 0 AS present FROM pg_trigger WHERE tgrelid = 'mv.profiles'::regclass AND NOT tgisinternal`,
  );
  expect(present.rows).toEqual([{ present: true }]);
  expect((await client.query(`SELECT address FROM mv.users WHERE id = 1`)).rows).toEqual([{ address: 'street 1' }]);
  await client.query(`CREATE OR REPLACE FUNCTION mv.add_user(i bigint, a text, n text) RETURNS void LANGUAGE sql AS $$
      INSERT INTO mv.users (id, note) VALUES (i, n) $$`);
  await applySteps(client, phaseSteps(move, 3).up);
  await client.query(`SELECT mv.add_user(2, 'street 2', 'n2')`);
  expect((await client.query(`SELECT id, note FROM mv.users ORDER BY id`)).rows).toEqual([
    { id: '1', note: 'n1' },
    { id: '2', note: 'n2' },
  ]);
});
