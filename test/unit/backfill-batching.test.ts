import { describe, expect, test } from 'vitest';
import { nextBatchSize } from '../../src/backfill/batch-size.js';
import { batchWithProgressSql, beginBatchSql } from '../../src/backfill/batch-statements.js';
import { integerSpanEnd, keysetQueries } from '../../src/backfill/keyset.js';

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

describe('batch statements', () => {
  test('a batch transaction opens in one round trip, asynchronous commit unless durable', () => {
    const sql = beginBatchSql({ suppressSetting: "phasectl.back'fill" }, 2000, false);
    expect(sql).toBe(
      "BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_catalog.set_config('phasectl.back''fill', 'on', true), pg_catalog.set_config('lock_timeout', '2000ms', true)",
    );
    expect(beginBatchSql({ suppressSetting: 'phasectl.backfill' }, 500, true)).not.toContain('synchronous_commit');
  });

  test('the data UPDATE and the progress row are one statement; parameters follow the key range', () => {
    const sql = batchWithProgressSql({ updateSql: 'UPDATE t SET b = a WHERE (k1, k2) >= ($1, $2) AND (k1, k2) <= ($3, $4);' }, 2);
    expect(sql).toBe(
      'WITH batch AS (UPDATE t SET b = a WHERE (k1, k2) >= ($1, $2) AND (k1, k2) <= ($3, $4) RETURNING 1) ' +
        'UPDATE phasectl.backfills SET last_key = $5::jsonb, rows_done = rows_done + (SELECT pg_catalog.count(*) FROM batch), updated_at = pg_catalog.now() ' +
        'WHERE change_id = $6 AND direction = $7 RETURNING (SELECT pg_catalog.count(*) FROM batch) AS updated',
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
