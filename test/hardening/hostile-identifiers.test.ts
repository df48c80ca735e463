import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { InputError } from '../../src/errors.js';
import { phaseSteps } from '../../src/operations/index.js';
import { qualify, quoteIdent, quoteLiteral } from '../../src/render/quote.js';
import type { RenameChange } from '../../src/spec/types.js';
import { createTestDatabase } from '../support/database.js';
import { inventory, lifecycle, phasectlLeftovers, plannedRename, stateTables } from '../support/hardening-rename.js';
import { backfillWithWriteAfterFirstBatch } from '../support/write-behind-walk.js';

/**
 * Property: whatever the schema, table, key, column and index names are (capitals, spaces, quotes,
 * backslashes, `$$`, the `$phasectl$` tag the templates dollar-quote with, semicolons, `--`, `/*`,
 * unicode, 63 bytes), the whole lifecycle (phase 1–3 up, then 3–1 down) runs through the generated
 * files, every value survives, and afterwards the database holds exactly what it held before.
 */

const fragments = [
  'job',
  'Title',
  ' ',
  '"',
  "'",
  '\\',
  '$$',
  '$phasectl$',
  '$phasectl_2$',
  ';',
  '--',
  '/*',
  '*/',
  'DROP TABLE victim',
  '%s',
  '%',
  'é',
  'Ünï',
  '日本',
  '🙂',
  'x',
  'select',
  'order',
  'NULL',
  '.',
  ',',
  '(',
  ')',
  ':',
  '::',
  '@',
  '?',
  '$1',
  "E'",
  'U&"',
];

const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

/** A name built from hostile fragments and arbitrary unicode, 1–63 bytes, no non-printing characters (refused by plan). */
const hostileName = fc
  .array(fc.oneof(fc.constantFrom(...fragments), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 3 })), {
    minLength: 1,
    maxLength: 12,
  })
  .map((parts) => parts.join(''))
  .map((name) => name.replace(/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/gu, '_'))
  .map((name) => {
    // Cut to 63 bytes on a character boundary (PostgreSQL would otherwise truncate it silently).
    let kept = '';
    for (const character of name) {
      if (byteLength(kept + character) > 63) break;
      kept += character;
    }
    return kept;
  })
  .filter((name) => name.trim().length > 0);

/** Sometimes exactly 63 bytes: the longest name PostgreSQL keeps, where derived names need the hash suffix. */
const maybeLong = fc.oneof(
  hostileName,
  hostileName.map((name) => {
    let padded = name;
    while (byteLength(padded) < 63) padded += byteLength(padded) <= 61 ? 'é' : 'x';
    return padded;
  }),
);

const namesArbitrary = fc
  .record({
    schema: hostileName,
    table: maybeLong,
    key: hostileName,
    from: maybeLong,
    to: maybeLong,
    other: hostileName,
    index: maybeLong,
    check: hostileName,
  })
  .filter((n) => new Set([n.key, n.from, n.to, n.other]).size === 4 && n.index !== n.check)
  // Tables and indexes share one namespace: a generated index named like its own table is a clash in the
  // test's CREATE statements, not in phasectl.
  .filter((n) => n.index !== n.table && n.index !== `${n.table}_pkey`)
  // Schema names starting with pg_ are reserved by PostgreSQL; `phasectl` is ours.
  .filter((n) => !/^pg_/i.test(n.schema) && n.schema !== 'phasectl' && n.schema !== 'public');

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  // A table whose loss would show an injected DROP.
  await client.query('CREATE TABLE public.victim (id int PRIMARY KEY); INSERT INTO public.victim VALUES (1)');
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

test('hostile names: the whole lifecycle keeps every value and creates nothing else', async () => {
  let runs = 0;
  await fc.assert(
    fc.asyncProperty(namesArbitrary, async (n) => {
      runs += 1;
      const table = qualify(n.schema, n.table);
      const [k, f, o] = [quoteIdent(n.key), quoteIdent(n.from), quoteIdent(n.other)];
      await client.query(`
        CREATE SCHEMA ${quoteIdent(n.schema)};
        CREATE TABLE ${table} (${k} int PRIMARY KEY, ${f} text NOT NULL DEFAULT ${quoteLiteral(n.other)},
          ${o} int DEFAULT 0, CONSTRAINT ${quoteIdent(n.check)} CHECK (length(${f}) < 1000));
        CREATE INDEX ${quoteIdent(n.index)} ON ${table} (lower(${f})) WHERE ${f} <> ${quoteLiteral(n.from)};
        INSERT INTO ${table} (${k}, ${f}) SELECT g, ${quoteLiteral(n.to)} || g FROM generate_series(1, 300) g;`);
      try {
        const before = await inventory(client);
        const data = async (column: string) =>
          (await client.query(`SELECT ${k}::int AS k, ${quoteIdent(column)} AS v FROM ${table} ORDER BY 1`)).rows;
        const original = await data(n.from);
        const change = await plannedRename(
          db.url,
          { schema: n.schema, table: n.table, column: n.from },
          n.to,
          'hostile',
        );
        const life = lifecycle(client, change);
        await life.up(1);
        // Writes through the old name while both columns exist reach the new one.
        await client.query(`UPDATE ${table} SET ${f} = ${quoteLiteral(n.index)} WHERE ${k} = 1`);
        await life.up(2);
        await client.query(`UPDATE ${table} SET ${quoteIdent(n.to)} = ${quoteLiteral(n.check)} WHERE ${k} = 2`);
        await life.up(3);
        const expected = original.map((row) =>
          row.k === 1 ? { k: 1, v: n.index } : row.k === 2 ? { k: 2, v: n.check } : row,
        );
        expect(await data(n.to)).toEqual(expected);
        const contracted = await inventory(client);
        // pg_get_indexdef quotes a name only when it must: a plain lower-case name appears bare. Matched as the index's
        // expression, lower(<column>): the name alone can also match other text of the line (a column named "."
        // matches the "schema"."table" separator of every index).
        const shown = /^[a-z_][a-z0-9_$]*$/.test(n.to)
          ? [`lower(${quoteIdent(n.to)})`, `lower(${n.to})`]
          : [`lower(${quoteIdent(n.to)})`];
        expect(
          contracted.filter((line) => line.startsWith('index ') && shown.some((form) => line.includes(form))),
          contracted.join('\n'),
        ).toHaveLength(1);
        await life.down(3);
        await life.down(2);
        await life.down(1);
        expect(await data(n.from)).toEqual(expected);
        await client.query(`UPDATE ${table} SET ${f} = ${quoteLiteral(n.to)} || ${k} WHERE ${k} IN (1, 2)`);
        expect(await data(n.from)).toEqual(original);
        // Same objects as before (nothing injected, nothing left behind), victim intact.
        expect(await inventory(client)).toEqual(before);
        expect(await phasectlLeftovers(client)).toEqual(stateTables);
        expect((await client.query('SELECT count(*)::int AS n FROM public.victim')).rows[0].n).toBe(1);
      } finally {
        await client.query(`DROP SCHEMA ${quoteIdent(n.schema)} CASCADE; DROP SCHEMA IF EXISTS phasectl CASCADE`);
      }
    }),
    {
      numRuns: 25,
      seed: process.env.PHASECTL_FUZZ_SEED ? Number(process.env.PHASECTL_FUZZ_SEED) : undefined,
      endOnFailure: true,
    },
  );
  expect(runs).toBeGreaterThanOrEqual(25);
}, 120_000);

test('a name with a line break is refused before any SQL is generated (it would end a -- comment)', () => {
  const change: RenameChange = {
    kind: 'rename',
    id: 'newline',
    rename: { schema: 'public', table: 't', from: 'a\nDROP TABLE public.victim; --', to: 'b' },
    column: { type: 'text', nullable: true, indexes: [], constraints: [] },
    key: { columns: ['id'], types: ['integer'] },
    releases: {},
  };
  expect(() => phaseSteps(change, 1)).toThrow(InputError);
  expect(() => phaseSteps(change, 1)).toThrow(/control character/);
  const indexNamed = {
    ...change,
    rename: { ...change.rename, from: 'a' },
    column: {
      ...change.column,
      indexes: [{ name: 'i\r\nx', unique: false, definition: 'CREATE INDEX "i\r\nx" ON public.t USING btree (a)' }],
    },
  };
  expect(() => phaseSteps(indexNamed, 1)).toThrow(/index name/);
});

test('a multi-line up expression stays inside its comment line', () => {
  const change: RenameChange = {
    kind: 'rename',
    id: 'multiline',
    rename: {
      schema: 'public',
      table: 't',
      from: 'a',
      to: 'b',
      type: 'text',
      up: 'lower(\n  "a")',
      down: 'upper(\n"b")',
    },
    column: { type: 'text', nullable: true, indexes: [], constraints: [] },
    key: { columns: ['id'], types: ['integer'] },
    releases: {},
  };
  const backfill = phaseSteps(change, 1).up.find((step) => step.name === 'backfill')!;
  const commentLines = backfill.sql.split('\n').filter((line) => line.includes('Fill'));
  expect(commentLines).toHaveLength(1);
  expect(commentLines[0]).toMatch(/^-- Fill "b" of "public"\."t" with \(lower\( t\."a"\)\) in every row/);
});

test('hostile names, a type change: an UPDATE giving a row not copied yet a key the walk has passed copies it', async () => {
  const n = { schema: 's"; DROP $phasectl$', table: 'T é "x" --', key: "Ke'y /*", from: 'a $$ b', to: '日本 "to"' };
  const table = qualify(n.schema, n.table);
  await client.query(`CREATE SCHEMA ${quoteIdent(n.schema)};
    CREATE TABLE ${table} (${quoteIdent(n.key)} int PRIMARY KEY, ${quoteIdent(n.from)} int NOT NULL);
    INSERT INTO ${table} SELECT g, g * 7 FROM generate_series(1, 1000) AS g;`);
  const change = await plannedRename(db.url, { schema: n.schema, table: n.table, column: n.from }, n.to, 'hostile-key');
  change.rename.type = 'bigint';
  // After the first batch: the row at key 900, far ahead of the walk, gets a key the walk has passed.
  await backfillWithWriteAfterFirstBatch(
    client,
    db.url,
    phaseSteps(change, 1).up,
    `UPDATE ${table} SET ${quoteIdent(n.key)} = -1 WHERE ${quoteIdent(n.key)} = 900`,
  );
  const { rows } = await client.query(
    `SELECT count(*)::int AS n FROM ${table} WHERE ${quoteIdent(n.to)} IS DISTINCT FROM ${quoteIdent(n.from)}::bigint`,
  );
  expect(rows[0].n).toBe(0);
  expect(
    (await client.query(`SELECT ${quoteIdent(n.to)} AS v FROM ${table} WHERE ${quoteIdent(n.key)} = -1`)).rows,
  ).toEqual([{ v: '6300' }]);
});
