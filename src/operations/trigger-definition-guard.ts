/**
 * Phase 3's guard on the triggers that name the dropped column in their definition (an argument, `UPDATE OF`, `WHEN`)
 * and that `plan` did not record, because they were created after it. `plan` refuses such a trigger on a move's
 * source table and records it for a rename (phase 3 re-creates it on the new column); one created later is
 * unknown to the generated SQL. With `UPDATE OF` or `WHEN`, DROP COLUMN fails with PostgreSQL's dependency error;
 * with an argument (`tsvector_update_trigger(fts, 'pg_catalog.simple', address)`) nothing stops DROP COLUMN, and the
 * trigger fails or misbehaves at the application's next write. The guard names the trigger and the fix first. Pure.
 */
import { SYNC_TRIGGER_NAME_PATTERN } from './naming.js';

/** Context of the shared `guard-trigger-definitions` partial. */
export function triggerDefinitionGuard(
  changeId: string,
  original: { schema: string; table: string; column: string },
  copy: { schema: string; table: string; column: string },
  recordedTriggers: readonly string[],
) {
  const rename = original.schema === copy.schema && original.table === copy.table;
  const fix = rename
    ? `re-create each naming ${copy.column} instead of ${original.column} (CREATE OR REPLACE TRIGGER …: both columns hold the same values until phase 3), or drop it`
    : `drop each, or re-create it without ${original.column} (what it did for the column can be a trigger on ${copy.schema}.${copy.table} naming ${copy.column})`;
  return {
    recordedTriggers: [...recordedTriggers].sort(),
    syncTriggerPattern: SYNC_TRIGGER_NAME_PATTERN,
    triggerDefinitionHint: `change ${changeId}: ${fix}, then rerun \`phasectl migrate\`; nothing was changed`,
  };
}
