/**
 * What phase 3's contract checks about the rest of the database before the old column goes, the same for rename and
 * move: the context its template's guard partials read (today: no trigger function still names the column). This is
 * where what else uses the column (functions, triggers, views: src/dependents) adds its phase-3 guards, once for both
 * kinds. Pure.
 */
import { triggerSourceGuard } from './column-mention.js';
import type { ColumnSides } from './column-copy.js';

export function contractGuards(sides: ColumnSides) {
  const { original, copy } = sides;
  return triggerSourceGuard(
    sides.changeId,
    { schema: original.schema, table: original.table },
    original.column,
    copy.label,
  );
}
