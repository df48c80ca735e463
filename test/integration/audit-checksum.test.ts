import pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { auditSql } from '../../src/operations/batch-walk.js';
import { cleanupsAfterAll, databaseSession } from '../support/test-project.js';

/**
 * The audit checksum (src/operations/batch-walk.ts auditSql) must tell apart values the column's collation calls
 * equal: under a case-insensitive collation 'Straße' and 'STRASSE' compare equal, but a value whose case changed on
 * the way is not the value that was written.
 */
const cleanups = cleanupsAfterAll();
let client: pg.Client;

beforeAll(async () => {
  ({ session: client } = await databaseSession(cleanups));
  await client.query(`
    CREATE COLLATION public.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
    CREATE TABLE public.t (id int PRIMARY KEY, a text COLLATE public.ci, b text COLLATE public.ci);
    INSERT INTO public.t VALUES (1, 'Alice', 'ALICE'), (2, 'bob', 'bob'), (3, NULL, NULL)`);
});

test('values equal under a case-insensitive collation give different checksums; NULLs count as absent', async () => {
  expect((await client.query(`SELECT 'Alice' = 'ALICE' COLLATE public.ci AS equal`)).rows[0].equal).toBe(true);
  const sql = auditSql('FROM public.t AS t WHERE t.id >= $1', 't.a IS DISTINCT FROM t.b', 't.a', 't.b');
  const { rows } = await client.query(sql, [1]);
  expect(rows[0]).toMatchObject({ rows: '3', source_non_null: '2', target_non_null: '2' });
  expect(rows[0].source_checksum).not.toBe(rows[0].target_checksum);

  await client.query(`UPDATE public.t SET b = a`);
  const same = (await client.query(sql, [1])).rows[0];
  expect(same.source_checksum).toBe(same.target_checksum);
});
