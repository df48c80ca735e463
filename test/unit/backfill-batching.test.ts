import { describe, expect, test } from 'vitest';
import { nextBatchSize } from '../../src/backfill/batch-size.js';
import { beginBatchSql, commitBatchSql } from '../../src/backfill/batch-statements.js';
import { integerSpanAfter, integerSpanEnd, isDenseRange, keysetQueries } from '../../src/backfill/keyset.js';

describe('integerSpanEnd', () => {
  test('a single integer key is cut by key values, capped at the upper bound', () => {
    expect(integerSpanEnd(['bigint'], ['1'], 1000, ['1000000'])).toEqual(['1000']);
    expect(integerSpanEnd(['integer'], ['-5'], 10, ['100'])).toEqual(['4']);
    expect(integerSpanEnd(['bigint'], ['999500'], 1000, ['1000000'])).toEqual(['1000000']);
    // Beyond 2^53: exact (BigInt), not rounded through a double.
    expect(integerSpanEnd(['bigint'], ['9007199254740993'], 10, ['9223372036854775807'])).toEqual(['9007199254741002']);
  });

  test('any other key walks by OFFSET (undefined)', () => {
    expect(integerSpanEnd(['text'], ['a'], 10, ['z'])).toBeUndefined();
    expect(integerSpanEnd(['uuid'], ['0'], 10, ['1'])).toBeUndefined();
    expect(integerSpanEnd(['integer', 'bigint'], ['1', '2'], 10, ['3', '4'])).toBeUndefined();
    expect(integerSpanEnd(['numeric'], ['1'], 10, ['3'])).toBeUndefined();
  });
});

describe('integer spans after a dense batch', () => {
  test('the next span starts after the last key and stops at the upper bound; past it the walk is done', () => {
    expect(integerSpanAfter(['bigint'], ['4000'], 1000, ['1000000'])).toEqual({ first: ['4001'], last: ['5000'] });
    expect(integerSpanAfter(['integer'], ['999500'], 1000, ['1000000'])).toEqual({
      first: ['999501'],
      last: ['1000000'],
    });
    expect(integerSpanAfter(['bigint'], ['1000000'], 1000, ['1000000'])).toBeUndefined();
    expect(() => integerSpanAfter(['text'], ['a'], 10, ['z'])).toThrow(/single integer key/);
  });

  test('dense means 9 of 10 key values held a rewritten row; other keys never are', () => {
    expect(isDenseRange(['bigint'], ['1'], ['1000'], 1000)).toBe(true);
    expect(isDenseRange(['bigint'], ['1'], ['1000'], 900)).toBe(true);
    expect(isDenseRange(['bigint'], ['1'], ['1000'], 899)).toBe(false);
    expect(isDenseRange(['bigint'], ['1000'], ['2000000'], 2000)).toBe(false);
    expect(isDenseRange(['uuid'], ['a'], ['b'], 1000)).toBe(false);
    expect(isDenseRange(['integer', 'integer'], ['1', '1'], ['1', '9'], 9)).toBe(false);
  });
});

describe('batch statements', () => {
  test('a batch transaction opens in one round trip: asynchronous commit unless durable, progress row locked', () => {
    const sql = beginBatchSql(
      { suppressSetting: "phasectl.back'fill", changeId: "it's", direction: 'up' },
      2000,
      false,
    );
    expect(sql).toBe(
      "BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_catalog.set_config('phasectl.back''fill', 'on', true), pg_catalog.set_config('lock_timeout', '2000ms', true), " +
        "(SELECT pg_catalog.count(*) FROM (SELECT 1 FROM phasectl.backfills WHERE change_id = 'it''s' AND direction = 'up' FOR UPDATE) AS p) AS progress_rows",
    );
    expect(
      beginBatchSql({ suppressSetting: 'phasectl.backfill', changeId: 'c', direction: 'up' }, 500, true),
    ).not.toContain('synchronous_commit');
  });

  test('a batch closes with its progress and COMMIT in one round trip; the key travels as a JSON literal', () => {
    const sql = commitBatchSql(
      { suppressSetting: 'phasectl.backfill', changeId: 'c', direction: 'down' },
      ["o'k", '2'],
      4000,
    );
    expect(sql).toBe(
      `UPDATE phasectl.backfills SET last_key = '["o''k","2"]'::jsonb, rows_done = rows_done + 4000, updated_at = pg_catalog.now() ` +
        "WHERE change_id = 'c' AND direction = 'down'; COMMIT",
    );
  });

  test('the bounds query finds first and last key of a batch in one statement', () => {
    const q = keysetQueries({ table: { schema: 'public', table: 'users' }, keyColumns: ['id'], keyTypes: ['bigint'] });
    expect(q.boundsAfter).toBe(
      'SELECT (SELECT ARRAY["id"::text] AS key FROM "public"."users" WHERE ("id") > ($1::bigint) AND ("id") <= ($2::bigint) ORDER BY "id" LIMIT 1) AS first, ' +
        '(SELECT ARRAY["id"::text] AS key FROM "public"."users" WHERE ("id") > ($1::bigint) AND ("id") <= ($2::bigint) ORDER BY "id" OFFSET $3::bigint LIMIT 1) AS last',
    );
    expect(q.boundsFromStart).toContain('OFFSET $2::bigint LIMIT 1) AS last');
  });
});

describe('nextBatchSize limits', () => {
  test('growth and maximum can be narrowed; shrinking stays ×0.5 at most', () => {
    expect(nextBatchSize(1000, 10, 50, 1000, { maxGrowth: 1.5 })).toBe(1500);
    expect(nextBatchSize(1000, 200, 50, 1000, { maxGrowth: 1.5 })).toBe(500);
    expect(nextBatchSize(400_000, 1, 200, 10_000, { max: 500_000 })).toBe(500_000);
  });
});
