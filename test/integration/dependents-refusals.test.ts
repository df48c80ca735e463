import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { functionsMentioningColumn } from '../../src/catalog/dependent-functions.js';
import { judgeFunctions } from '../../src/dependents/functions.js';
import { triggersNamingColumnInDefinition } from '../../src/catalog/dependent-triggers.js';
import { readRenameFacts } from '../../src/catalog/column-facts.js';
import { connect, type Connection } from '../../src/db/connect.js';
import { InputError } from '../../src/errors.js';
import type { RenameChange } from '../../src/spec/types.js';
import { createTestDatabase } from '../support/database.js';
import { lifecycle } from '../support/hardening-rename.js';

/** The refusal paths of issue 12 items 2 and 3 on real PostgreSQL: each names the object and changes nothing. */
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

test('a trigger changed after plan: phase 3 refuses naming it, nothing dropped', async () => {
  await client.query(`CREATE SCHEMA trg; CREATE TABLE trg.docs (id int PRIMARY KEY, title text, body text, fts tsvector);
    CREATE TRIGGER docs_fts BEFORE INSERT OR UPDATE OF title, body ON trg.docs FOR EACH ROW
      EXECUTE FUNCTION tsvector_update_trigger(fts, 'pg_catalog.english', title, body);
    INSERT INTO trg.docs (id, title, body) SELECT g, 'title ' || g, 'body' FROM generate_series(1, 50) g;`);
  const target = { schema: 'trg', table: 'docs', column: 'title' };
  const { column, key, foreignKeys } = await readRenameFacts(connection.db, target, 'heading');
  const triggers = await triggersNamingColumnInDefinition(connection.db, target, 'heading');
  expect(triggers.map((trigger) => trigger.name)).toEqual(['docs_fts']);
  const change: RenameChange = {
    kind: 'rename',
    id: 'trg-docs',
    rename: { schema: 'trg', table: 'docs', from: 'title', to: 'heading' },
    column,
    key,
    dependents: { foreignKeys, functions: [], triggers },
    releases: { phase1: '1', phase2: '2', phase3: '3' },
  };
  const life = lifecycle(client, change);
  await life.up(1);
  await life.up(2);
  // Someone edits the trigger after plan: its new meaning is unknown to phasectl.
  await client.query(`CREATE OR REPLACE TRIGGER docs_fts BEFORE INSERT OR UPDATE OF title ON trg.docs FOR EACH ROW
      EXECUTE FUNCTION tsvector_update_trigger(fts, 'pg_catalog.simple', title, body)`);
  const error = await life.up(3).then(
    () => undefined,
    (caught: Error) => caught,
  );
  expect(error?.message).toContain(
    'phasectl: change trg-docs cannot re-point trigger docs_fts on "trg"."docs": it changed since plan',
  );
  expect(
    (
      await client.query(
        `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'trg.docs'::regclass AND attname = 'title' AND NOT attisdropped`,
      )
    ).rows,
  ).toEqual([{ n: 1 }]);
  // Put back as recorded: phase 3 goes through and the trigger reads the new column.
  await client.query(triggers[0]!.definition.replace('CREATE TRIGGER', 'CREATE OR REPLACE TRIGGER'));
  await life.up(3);
  await client.query(`UPDATE trg.docs SET heading = 'searchable words' WHERE id = 1`);
  expect(
    (await client.query(`SELECT fts @@ to_tsquery('english', 'searchable') AS found FROM trg.docs WHERE id = 1`)).rows,
  ).toEqual([{ found: true }]);
});

test('a constraint trigger naming the column is refused at plan with the reason', async () => {
  await client.query(`CREATE SCHEMA ctrg; CREATE TABLE ctrg.t (id int PRIMARY KEY, v text);
    CREATE FUNCTION ctrg.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
    CREATE CONSTRAINT TRIGGER t_v AFTER UPDATE OF v ON ctrg.t DEFERRABLE FOR EACH ROW EXECUTE FUNCTION ctrg.noop();`);
  const error = await triggersNamingColumnInDefinition(
    connection.db,
    { schema: 'ctrg', table: 't', column: 'v' },
    'w',
  ).catch((caught: unknown) => caught);
  expect(error).toBeInstanceOf(InputError);
  expect((error as InputError).message).toBe(
    'trigger t_v on "ctrg"."t" is a constraint trigger that names v; phasectl cannot replace a constraint trigger in place',
  );
});

test('functions reading the column through a row of the table (a %ROWTYPE variable, an argument of the row type) are listed at plan', async () => {
  await client.query(`CREATE SCHEMA rowf; CREATE TABLE rowf.t (id int PRIMARY KEY, v text);
    CREATE FUNCTION rowf.by_var(i int) RETURNS text LANGUAGE plpgsql AS $$
      DECLARE r rowf.t%ROWTYPE; BEGIN SELECT * INTO r FROM rowf.t WHERE id = i; RETURN r.v; END $$;
    CREATE FUNCTION rowf.by_arg(x rowf.t) RETURNS text LANGUAGE sql AS $$ SELECT x.v $$;
    CREATE FUNCTION rowf.by_position(n int, rowf.t) RETURNS text LANGUAGE sql AS $$ SELECT ($2).v $$;
    CREATE FUNCTION rowf.other(x int) RETURNS text LANGUAGE sql AS $$ SELECT 'x' AS v $$;`);
  const target = { schema: 'rowf', table: 't', column: 'v' };
  const functions = judgeFunctions(await functionsMentioningColumn(connection.db, target), target);
  expect(functions.map(({ name, namesColumn }) => ({ name, namesColumn }))).toEqual([
    { name: 'rowf.by_arg(rowf.t)', namesColumn: true },
    { name: 'rowf.by_position(integer,rowf.t)', namesColumn: true },
    { name: 'rowf.by_var(integer)', namesColumn: true },
    { name: 'rowf.other(integer)', namesColumn: false },
  ]);
  await client.query('DROP SCHEMA rowf CASCADE');
});

test('a BEGIN ATOMIC function reading the column is refused at plan with the reason and the manual path', async () => {
  await client.query(`CREATE SCHEMA atomic; CREATE TABLE atomic.t (id int PRIMARY KEY, v text);
    CREATE FUNCTION atomic.v_of(p int) RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT v FROM atomic.t WHERE id = p; END;`);
  const error = await functionsMentioningColumn(connection.db, { schema: 'atomic', table: 't', column: 'v' }).catch(
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InputError);
  expect((error as InputError).message).toBe(
    'atomic.t.v is used by the SQL-standard body (BEGIN ATOMIC) of atomic.v_of(integer); PostgreSQL binds such a body to the column, so phase 3 could not drop it',
  );
  expect((error as InputError).hint).toMatch(/string body/);
});

test('the phase 3 function guard lists every function still naming the column, and a comment exempts one', async () => {
  await client.query(`CREATE SCHEMA fng; CREATE TABLE fng.t (id int PRIMARY KEY, v text);
    INSERT INTO fng.t VALUES (1, 'a');
    CREATE FUNCTION fng.reads_v() RETURNS text LANGUAGE sql AS $$ SELECT v FROM fng.t LIMIT 1 $$;
    CREATE PROCEDURE fng.writes_v() LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'UPDATE fng.t SET v = ''b'''; END $$;`);
  const target = { schema: 'fng', table: 't', column: 'v' };
  const { column, key } = await readRenameFacts(connection.db, target, 'w');
  const change: RenameChange = {
    kind: 'rename',
    id: 'fng-t',
    rename: { schema: 'fng', table: 't', from: 'v', to: 'w' },
    column,
    key,
    dependents: { foreignKeys: [], functions: [], triggers: [] },
    releases: { phase1: '1', phase2: '2', phase3: '3' },
  };
  const life = lifecycle(client, change);
  await life.up(1);
  await life.up(2);
  const error = await life.up(3).then(
    () => undefined,
    (caught: Error) => caught,
  );
  expect(error?.message).toContain(
    'phasectl: change fng-t cannot drop "v": function fng.reads_v(); fng.writes_v() still names it',
  );
  await client.query(`CREATE OR REPLACE FUNCTION fng.reads_v() RETURNS text LANGUAGE sql AS $$ SELECT w FROM fng.t LIMIT 1 $$;
    COMMENT ON PROCEDURE fng.writes_v() IS 'phasectl: not fng-t (reviewed)'`);
  await life.up(3);
  expect((await client.query('SELECT fng.reads_v() AS v')).rows).toEqual([{ v: 'a' }]);
});
