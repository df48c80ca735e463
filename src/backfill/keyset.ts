import { qualify, quoteIdent } from '../render/quote.js';
import type { BackfillPlan } from '../operations/types.js';

/**
 * The keyset walk's SQL for one table, built once from a BackfillPlan. Keys travel as text arrays
 * (`ARRAY[k1::text, …] AS key`) and come back through `$n::<key type>` casts; composite keys compare
 * as rows, so `(a, b) > ($1, $2)` walks them in index order. Pure.
 */
export interface KeysetQueries {
  /** Highest key: `SELECT ARRAY[…] AS key FROM t ORDER BY k DESC LIMIT 1`. */
  maxKey: string;
  /** Lowest key ≤ $upper (params: upper). */
  firstKey: string;
  /** Lowest key > $last and ≤ $upper (params: last, upper). */
  firstKeyAfter: string;
  /** The n-th key from $first (params: first, upper, n − 1 as offset); none = fewer rows, use upper. */
  lastKey: string;
  /**
   * First and last key of the next batch in one round trip (params: last, upper, n − 1 as offset):
   * `first` is the lowest key > $last and ≤ $upper, `last` the n-th key from there (NULL = fewer rows
   * are left, use upper). Both are index scans on the key; the second one walks n index entries.
   */
  boundsAfter: string;
  /** The same for the first batch, which has no previous key (params: upper, n − 1). */
  boundsFromStart: string;
  /** Every key of a closed range, ascending (params: lo, hi). */
  keysInRange: string;
  /** One row as JSON for error messages (params: key). */
  rowByKey: string;
  /**
   * Keys of a sample of the table's pages, in key order (params: percent of pages, then upper; `sampleAfter`:
   * percent, last, upper), for cutting the key space into ranges of about equal rows.
   */
  sampleFromStart: string;
  sampleAfter: string;
  /** Planner's row estimate of the table. */
  estimate: string;
  /** Number of key columns (k): a range takes 2k parameters. */
  width: number;
}

export function keysetQueries(plan: Pick<BackfillPlan, 'table' | 'keyColumns' | 'keyTypes'>): KeysetQueries {
  const table = qualify(plan.table.schema, plan.table.table);
  const columns = plan.keyColumns.map(quoteIdent);
  const width = columns.length;
  if (width === 0 || plan.keyTypes.length !== width) {
    throw new Error(`backfill plan for ${table} needs one type per key column`);
  }
  const tuple = `(${columns.join(', ')})`;
  const params = (from: number) => `(${plan.keyTypes.map((type, i) => `$${from + i}::${type}`).join(', ')})`;
  const select = `SELECT ARRAY[${columns.map((c) => `${c}::text`).join(', ')}] AS key FROM ${table}`;
  const ascending = columns.join(', ');
  const descending = columns.map((c) => `${c} DESC`).join(', ');
  return {
    width,
    maxKey: `${select} ORDER BY ${descending} LIMIT 1`,
    firstKey: `${select} WHERE ${tuple} <= ${params(1)} ORDER BY ${ascending} LIMIT 1`,
    firstKeyAfter: `${select} WHERE ${tuple} > ${params(1)} AND ${tuple} <= ${params(width + 1)} ORDER BY ${ascending} LIMIT 1`,
    lastKey: `${select} WHERE ${tuple} >= ${params(1)} AND ${tuple} <= ${params(width + 1)} ORDER BY ${ascending} OFFSET $${2 * width + 1}::bigint LIMIT 1`,
    boundsAfter:
      `SELECT (${select} WHERE ${tuple} > ${params(1)} AND ${tuple} <= ${params(width + 1)} ORDER BY ${ascending} LIMIT 1) AS first, ` +
      `(${select} WHERE ${tuple} > ${params(1)} AND ${tuple} <= ${params(width + 1)} ORDER BY ${ascending} OFFSET $${2 * width + 1}::bigint LIMIT 1) AS last`,
    boundsFromStart:
      `SELECT (${select} WHERE ${tuple} <= ${params(1)} ORDER BY ${ascending} LIMIT 1) AS first, ` +
      `(${select} WHERE ${tuple} <= ${params(1)} ORDER BY ${ascending} OFFSET $${width + 1}::bigint LIMIT 1) AS last`,
    sampleFromStart: `${select} TABLESAMPLE SYSTEM ($1::float4) WHERE ${tuple} <= ${params(2)} ORDER BY ${ascending}`,
    sampleAfter: `${select} TABLESAMPLE SYSTEM ($1::float4) WHERE ${tuple} > ${params(2)} AND ${tuple} <= ${params(width + 2)} ORDER BY ${ascending}`,
    keysInRange: `${select} WHERE ${tuple} >= ${params(1)} AND ${tuple} <= ${params(width + 1)} ORDER BY ${ascending}`,
    rowByKey: `SELECT left(to_jsonb(t)::text, 400) AS row FROM ${table} AS t WHERE ${tuple} = ${params(1)}`,
    // reltuples is -1 (PostgreSQL 14+) or 0 until the table is first vacuumed or analyzed: then count,
    // capped at 10M rows so a never-analyzed huge table does not stall the start. A partitioned table's own
    // reltuples stays -1 until the parent is analyzed: the sum over its leaves, never a count through the parent
    // (its backfill then estimates each leaf on its own).
    estimate: `SELECT CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(greatest(l.reltuples, 0)), 0)::bigint
          FROM pg_catalog.pg_partition_tree(c.oid) AS tree JOIN pg_catalog.pg_class AS l ON l.oid = tree.relid WHERE tree.isleaf)
        WHEN c.reltuples >= 1 THEN c.reltuples::bigint
        ELSE (SELECT count(*) FROM (SELECT 1 FROM ${table} LIMIT 10000000) AS capped) END AS estimate
      FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass(${quoteLiteralText(table)})`,
  };
}

/** A key as people read it: `id=42` or `(tenant_id, id)=(3, 42)`. */
export function describeKey(columns: string[], key: readonly string[]): string {
  if (columns.length === 1) return `${columns[0]}=${key[0]}`;
  return `(${columns.join(', ')})=(${key.join(', ')})`;
}

function quoteLiteralText(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint', 'int2', 'int4', 'int8', 'int']);

/** Whether the key is one integer column, so batches can be cut by key value. Pure. */
export function isSingleIntegerKey(keyTypes: readonly string[]): boolean {
  return keyTypes.length === 1 && INTEGER_TYPES.has(keyTypes[0]!.trim().toLowerCase());
}

/**
 * For a single integer key: the end of a batch of `span` key values from `first`, capped at `upper`
 * (`[first + span − 1]`), so the batch needs no `OFFSET` scan to find its end; it holds at most `span`
 * rows since keys are unique. Undefined for any other key (text, uuid, composite): walk by OFFSET. Pure.
 */
export function integerSpanEnd(
  keyTypes: readonly string[],
  first: readonly string[],
  span: number,
  upper: readonly string[],
): string[] | undefined {
  if (!isSingleIntegerKey(keyTypes)) return undefined;
  const end = BigInt(first[0]!) + BigInt(Math.max(1, Math.floor(span))) - 1n;
  const cap = BigInt(upper[0]!);
  return [(end < cap ? end : cap).toString()];
}

/**
 * For a single integer key whose last batch was dense: the next batch as the `span` keys after `last`
 * (`[last + 1, min(last + span, upper)]`), found without an index walk. It holds at most `span` rows, as a
 * walked batch does, since keys are unique. Undefined when the walk is past `upper` (done). Pure.
 */
export function integerSpanAfter(
  keyTypes: readonly string[],
  last: readonly string[],
  span: number,
  upper: readonly string[],
): { first: string[]; last: string[] } | undefined {
  if (!isSingleIntegerKey(keyTypes))
    throw new Error(`integerSpanAfter needs a single integer key, not (${keyTypes.join(', ')})`);
  const next = BigInt(last[0]!) + 1n;
  if (next > BigInt(upper[0]!)) return undefined;
  const first = [next.toString()];
  return { first, last: integerSpanEnd(keyTypes, first, span, upper)! };
}

/**
 * Whether a batch over [first, last] of a single integer key found the keys dense: at least 9 of 10 key
 * values held a row it rewrote. Only then may the next batch be cut by key value (integerSpanAfter) —
 * sparse keys, or rows already in sync, go back to walking the index, so a batch never covers more rows than
 * its size. Pure.
 */
export function isDenseRange(
  keyTypes: readonly string[],
  first: readonly string[],
  last: readonly string[],
  rewritten: number,
): boolean {
  if (!isSingleIntegerKey(keyTypes)) return false;
  const keys = BigInt(last[0]!) - BigInt(first[0]!) + 1n;
  return keys > 0n && BigInt(rewritten) * 10n >= keys * 9n;
}
