import type { Change, ColumnRef } from './types.js';

/**
 * The columns a change works on, whatever its kind: `source` is the column phase 3 drops,
 * `target` the one that carries the values afterwards (same table for a rename). Pure.
 */
export function changeColumns(change: Change): { source: ColumnRef; target: ColumnRef } {
  switch (change.kind) {
    case 'rename': {
      const { schema, table, from, to } = change.rename;
      return { source: { schema, table, column: from }, target: { schema, table, column: to } };
    }
    case 'move':
      return { source: { ...change.move.from }, target: { ...change.move.to } };
  }
}

/** The column a change drops at phase 3 (what check rule 6 searches the code for). */
export function droppedColumn(change: Change): ColumnRef {
  return changeColumns(change).source;
}
