import type pg from 'pg';
import type { KeysetQueries } from './keyset.js';

/**
 * The keyset walk's probes for where the next span of keys starts and ends, shared by the backfill, verify and the
 * cutting of the key space into ranges. `after` null: from the table's first key.
 */

/** The lowest key in `(after, upper]`; undefined when none is left. */
export async function firstKeyIn(
  session: pg.ClientBase,
  queries: KeysetQueries,
  after: string[] | null,
  upper: string[],
): Promise<string[] | undefined> {
  const next = after
    ? await session.query<{ key: string[] }>(queries.firstKeyAfter, [...after, ...upper])
    : await session.query<{ key: string[] }>(queries.firstKey, upper);
  return next.rows[0]?.key;
}

/**
 * The next batch's first key in `(after, upper]` and its `size`-th key (null: fewer rows are left, the batch ends at
 * `upper`), in one query; undefined when no key is left.
 */
export async function nextBounds(
  session: pg.ClientBase,
  queries: KeysetQueries,
  after: string[] | null,
  upper: string[],
  size: number,
): Promise<{ first: string[]; last: string[] | null } | undefined> {
  const result = after
    ? await session.query<{ first: string[] | null; last: string[] | null }>(queries.boundsAfter, [
        ...after,
        ...upper,
        size - 1,
      ])
    : await session.query<{ first: string[] | null; last: string[] | null }>(queries.boundsFromStart, [
        ...upper,
        size - 1,
      ]);
  const row = result.rows[0];
  return row?.first ? { first: row.first, last: row.last } : undefined;
}
