import type { TableName } from '../spec/types.js';
import { isSingleIntegerKey } from './keyset.js';

/**
 * One slice of a backfill's key space, walked by one worker: the keys `> after` (from the first key when null)
 * and `<= upper`. `index` names its progress row in `phasectl.backfill_ranges` (undefined: the whole-table walk,
 * whose progress is the change's row in `phasectl.backfills`). `last` is the last key committed so far. A leaf
 * partition of a partitioned table is one more kind of range: `table` names it, and the walk runs the plan's
 * statements on it instead of the parent (src/backfill/partitions.ts); its keys are that leaf's.
 */
export interface KeyRange {
  index?: number;
  /** The leaf partition walked (unset: the change's own table). */
  table?: TableName;
  /** The leaf's row estimate when the range was stored (its share, when a big leaf is cut into several). */
  rowsEstimated?: number;
  after: string[] | null;
  upper: string[];
  last: string[] | null;
  rowsDone: number;
  finished: boolean;
}

/**
 * Cuts a single integer key's values `(after, upper]` into at most `count` ranges of equal width (by value, no
 * query: dense ids give equal row counts). `first` is the lowest key present after `after`. Pure.
 */
export function integerRanges(first: string, upper: string, after: string[] | null, count: number): KeyRange[] {
  const lo = BigInt(first);
  const hi = BigInt(upper);
  const width = hi - lo + 1n;
  const ends: bigint[] = [];
  for (let i = 1n; i < BigInt(count); i += 1n) {
    const end = lo - 1n + (width * i) / BigInt(count);
    if (end >= lo && end < hi && end !== ends.at(-1)) ends.push(end);
  }
  ends.push(hi);
  return chain(
    after,
    ends.map((end) => [end.toString()]),
  );
}

/**
 * Cuts the key space `(after, upper]` at the quantiles of a sorted key sample into at most `count` ranges
 * (any key type: the sample came back in the key's own order). Equal boundaries merge. Pure.
 */
export function sampledRanges(
  sortedSample: string[][],
  upper: string[],
  after: string[] | null,
  count: number,
): KeyRange[] {
  const ends: string[][] = [];
  for (let i = 1; i < count; i += 1) {
    const cut = sortedSample[Math.floor((sortedSample.length * i) / count)];
    if (cut && (ends.length === 0 || !sameKey(cut, ends.at(-1)!)) && !sameKey(cut, upper)) ends.push(cut);
  }
  ends.push(upper);
  return chain(after, ends);
}

/** Whether ranges may be cut by key value (a single smallint/integer/bigint key). Pure. */
export const cutsByValue = isSingleIntegerKey;

function chain(after: string[] | null, ends: string[][]): KeyRange[] {
  return ends.map((upper, i) => ({
    index: i + 1,
    after: i === 0 ? after : ends[i - 1]!,
    upper,
    last: null,
    rowsDone: 0,
    finished: false,
  }));
}

function sameKey(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
