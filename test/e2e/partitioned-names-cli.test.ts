import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { qualify, quoteIdent, quoteLiteral } from '../../src/render/quote.js';
import { phasectl } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';

/**
 * A partition tree whose schema, parent, partitions and column use quotes, spaces, capitals and multibyte unicode, at
 * 63 bytes where PostgreSQL allows it, through the whole lifecycle on the CLI (plan, phase 1 with two indexes on the
 * column, backfill, phase 2, phase 3, the down of phase 3 and phase 3 again).
 *
 * Each partition's copy of an index is named `<partition>_<index>`, cut when longer than 63 bytes. PostgreSQL cuts
 * identifiers at 63 bytes on its own: a cut by characters (50 multibyte characters are up to 200 bytes) let it cut
 * off the distinguishing hash, so both indexes of a partition got the partition's own name and phase 1 could not
 * finish. The cut is by bytes now, and the hash of the whole name always survives.
 */
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

const schema = `Sch "ë" Ü ${'ü'.repeat(25)}x`; // 63 bytes
const table = `Évents "p" ✓ ${'é'.repeat(23)}x`; // 63 bytes
const column = `Tïtle "x" ${'日'.repeat(17)}z`; // 63 bytes
const renamed = `Nämé "y" ${'本'.repeat(17)}z`; // 63 bytes
// Two partitions of 63 bytes that differ only in their last bytes, and a default one.
const partitionA = `${'表'.repeat(20)}a_1`;
const partitionB = `${'表'.repeat(20)}b_2`;
const partitionRest = `rest "d" Ü`;

test('names are 63-byte multibyte identifiers', () => {
  for (const name of [schema, table, column, renamed, partitionA, partitionB]) expect(bytes(name), name).toBe(63);
});

test('a partition tree with hostile names goes through every phase; each partition index has a name of its own', async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-partitioned-names-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const url = db.url;
  const parent = qualify(schema, table);
  const col = quoteIdent(column);
  await query(
    url,
    `CREATE SCHEMA ${quoteIdent(schema)};
     CREATE TABLE ${parent} (id bigint NOT NULL, created_at date NOT NULL, ${col} text, PRIMARY KEY (id, created_at))
       PARTITION BY RANGE (created_at);
     CREATE TABLE ${qualify(schema, partitionA)} PARTITION OF ${parent} FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
     CREATE TABLE ${qualify(schema, partitionB)} PARTITION OF ${parent} FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
     CREATE TABLE ${qualify(schema, partitionRest)} PARTITION OF ${parent} DEFAULT;
     CREATE INDEX "ix ✓" ON ${parent} (${col});
     CREATE UNIQUE INDEX "ux ✓" ON ${parent} (${col}, created_at);
     INSERT INTO ${parent} (id, created_at, ${col})
       SELECT g, DATE '2024-06-01' + g * 3, CASE WHEN g % 7 = 0 THEN NULL ELSE 'välue "' || g || '" ✓' END
       FROM generate_series(1, 300) g;`,
  );
  const original = await query(url, `SELECT id, ${col} AS value FROM ${parent} ORDER BY id`);
  const run = (...args: string[]) => phasectl(args, { cwd: dir, env: { DATABASE_URL: url } });
  const ok = async (...args: string[]) => {
    const result = await run(...args);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
  };
  const target = [schema, table, column].map((part) => `"${part.replace(/"/g, '""')}"`).join('.');
  /** The indexes of every partition whose definition names `name`: partition, index name, valid, attached. */
  const partitionIndexes = (name: string) =>
    query<{ rel: string; index: string; valid: boolean; attached: boolean }>(
      url,
      `SELECT c.relname::text AS rel, x.relname::text AS index, i.indisvalid AS valid,
         EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid) AS attached
       FROM pg_partition_tree(${quoteLiteral(parent)}::regclass) t
       JOIN pg_class c ON c.oid = t.relid JOIN pg_index i ON i.indrelid = t.relid JOIN pg_class x ON x.oid = i.indexrelid
       WHERE t.level > 0 AND pg_get_indexdef(i.indexrelid) LIKE '%' || ${quoteLiteral(quoteIdent(name))} || '%'
       ORDER BY 1, 2`,
    );
  const expectIndexesOn = async (name: string) => {
    const indexes = await partitionIndexes(name);
    // Two per partition (the plain and the unique index), each valid and attached, no two with one name.
    expect(indexes.map((index) => index.rel).sort()).toEqual(
      [partitionA, partitionA, partitionB, partitionB, partitionRest, partitionRest].sort(),
    );
    expect(indexes.every((index) => index.valid && index.attached)).toBe(true);
    expect(new Set(indexes.map((index) => index.index)).size).toBe(6);
    for (const index of indexes) expect(bytes(index.index)).toBeLessThanOrEqual(63);
  };

  await ok('init');
  await ok('plan', 'rename', target, renamed, '--id', 'hostile-names');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  await expectIndexesOn(renamed);
  expect(
    await query(url, `SELECT count(*)::int AS n FROM ${parent} WHERE ${quoteIdent(renamed)} IS DISTINCT FROM ${col}`),
  ).toEqual([{ n: 0 }]);

  await ok('advance', '--release', '2.0.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '3.0.0');
  await ok('migrate', '--quiet');
  const after = await query(url, `SELECT id, ${quoteIdent(renamed)} AS value FROM ${parent} ORDER BY id`);
  expect(after).toEqual(original);
  await expectIndexesOn(renamed);
  expect(await partitionIndexes(column)).toEqual([]);

  // The down of phase 3 rebuilds the old column's indexes partition by partition (named after the old ones).
  await ok('rollback', '--release', '3.0.0', '--yes', '--quiet');
  await expectIndexesOn(column);
  expect(await query(url, `SELECT id, ${col} AS value FROM ${parent} ORDER BY id`)).toEqual(original);
  await ok('migrate', '--quiet');
  expect(await query(url, `SELECT id, ${quoteIdent(renamed)} AS value FROM ${parent} ORDER BY id`)).toEqual(original);
}, 600_000);
