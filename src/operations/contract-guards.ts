/**
 * What phase 3's contract checks about the rest of the database before the old column goes, the same for rename and
 * move: the context its template's guard partials read (no trigger function still names the column; no function or
 * procedure still names it, once `plan` has read them into `dependents:`). Pure.
 */
import { functionGuard } from '../dependents/functions.js';
import type { DependentFacts } from '../spec/types.js';
import { triggerSourceGuard } from './column-mention.js';
import type { ColumnSides } from './column-copy.js';

export function contractGuards(sides: ColumnSides, dependents: DependentFacts | undefined) {
  const { original, copy } = sides;
  return {
    ...triggerSourceGuard(sides.changeId, { schema: original.schema, table: original.table }, original.column, copy.label),
    // A change planned before phasectl read the functions has no record: its generated SQL stays as it was.
    functionGuard: dependents !== undefined,
    ...functionGuard(sides.changeId, original.column, copy.label, dependents?.functions ?? []),
  };
}
