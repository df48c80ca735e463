import { initialJobTitle } from './sample-table.js';

export interface LostWrite {
  id: number;
  expected: string;
  /** undefined: the row is missing. */
  found: string | undefined;
}

/**
 * Compares every row's surviving column with what it must hold: the last value a writer committed for
 * that id, else the value the sample table was filled with. Rows a writer inserted must exist.
 * Returns the rows that disagree (the demo's "writes lost"). Pure.
 */
export function findLostWrites(
  rows: Iterable<{ id: number; value: string | null }>,
  expected: ReadonlyMap<number, string>,
  sampleRows: number,
): LostWrite[] {
  const lost: LostWrite[] = [];
  const seen = new Set<number>();
  for (const row of rows) {
    seen.add(row.id);
    const want = expected.get(row.id) ?? (row.id >= 1 && row.id <= sampleRows ? initialJobTitle(row.id) : undefined);
    // A row nobody wrote and the sample did not create is not a lost write; it is simply not ours.
    if (want !== undefined && row.value !== want) lost.push({ id: row.id, expected: want, found: row.value ?? 'NULL' });
  }
  for (const [id, value] of expected) if (!seen.has(id)) lost.push({ id, expected: value, found: undefined });
  for (let id = 1; id <= sampleRows; id++)
    if (!seen.has(id) && !expected.has(id)) lost.push({ id, expected: initialJobTitle(id), found: undefined });
  return lost.sort((a, b) => a.id - b.id);
}
