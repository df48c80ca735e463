import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { phaseSteps } from '../../src/operations/index.js';
import { qualify, quoteIdent } from '../../src/render/quote.js';
import type { RenameChange } from '../../src/spec/types.js';
import { applyPhase, catalogSnapshot, readColumnFacts } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';

// Names that break hand-written SQL: unicode, quotes, a semicolon, spaces, capitals, exactly 63 bytes.
const schema = 'Ünï "Schema"';
const table = 'My Table; DROP';
const key = 'ID Key';
const from = `Job "Title" ${'x'.repeat(63 - 'Job "Title" '.length)}`;
const to = 'Favourite Colour';
const table2 = qualify(schema, table);

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

test('a 63-byte column name is what the fixture says', () => {
  expect(Buffer.byteLength(from)).toBe(63);
});

test('the whole lifecycle works with hostile names and each down restores the schema exactly', async () => {
  const f = quoteIdent(from);
  await client.query(`
    CREATE SCHEMA ${quoteIdent(schema)};
    CREATE TABLE ${table2} (${quoteIdent(key)} int PRIMARY KEY, ${f} varchar(40) COLLATE "C" NOT NULL DEFAULT 'it''s',
      CONSTRAINT "Check; it" CHECK (${f} <> 'DROP'), CONSTRAINT "Uniq ""it""" UNIQUE (${f}));
    CREATE INDEX "Lower Idx" ON ${table2} (lower(${f})) WHERE ${f} <> 'job_title';
    INSERT INTO ${table2} SELECT n, 'v' || n FROM generate_series(1, 1500) AS n;`);
  const change: RenameChange = {
    kind: 'rename',
    id: 'hostile-names',
    rename: { schema, table, from, to },
    column: await readColumnFacts(client, table2, from),
    key: { columns: [key], types: ['integer'] },
    releases: { phase1: '1', phase2: '2', phase3: '3' },
  };
  expect(change.column.collation).toBe('"C"');
  const [p1, p2, p3] = [phaseSteps(change, 1), phaseSteps(change, 2), phaseSteps(change, 3)];
  const snapshot = () => catalogSnapshot(client, table2);
  const data = async () =>
    (await client.query(`SELECT ${quoteIdent(key)} AS k, ${f} AS v FROM ${table2} ORDER BY 1`)).rows;
  const original = await snapshot();
  const originalData = await data();

  await applyPhase(client, p1, 'up');
  await client.query(`UPDATE ${table2} SET ${f} = 'renamed' WHERE ${quoteIdent(key)} = 1`);
  const { rows } = await client.query(
    `SELECT count(*)::int AS n FROM ${table2} WHERE ${quoteIdent(to)} IS DISTINCT FROM ${f}`,
  );
  expect(rows[0].n).toBe(0);
  await applyPhase(client, p2, 'up');
  const phase2 = await snapshot();
  await applyPhase(client, p3, 'up');
  const contracted = (await snapshot()) as {
    columns: Array<{ name: string; type: string; notNull: boolean; default: string; collation: string }>;
  };
  expect(contracted.columns.find((c) => c.name === to)).toEqual({
    name: to,
    type: 'character varying(40)',
    notNull: true,
    default: "'it''s'::character varying",
    collation: '"C"',
  });
  await applyPhase(client, p3, 'down');
  expect(await snapshot()).toEqual(phase2);
  await applyPhase(client, p2, 'down');
  await client.query(`UPDATE ${table2} SET ${f} = 'v1' WHERE ${quoteIdent(key)} = 1`);
  await applyPhase(client, p1, 'down');
  expect(await snapshot()).toEqual(original);
  expect(await data()).toEqual(originalData);
});
