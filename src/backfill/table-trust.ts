import type pg from 'pg';
import type { BackfillPlan } from '../operations/types.js';
import { qualify } from '../render/quote.js';
import { requireTrustedTables } from '../session/table-trust.js';
import { updatedColumns, updatedTable } from '../sql/update-target.js';
import { requireTrustedUpdate } from './update-trust.js';

/**
 * The tables `plan` touches: the one whose key it walks and the one its UPDATE writes (the same for a rename; a
 * move's source and target), as text (`"schema"."table"`). Pure.
 */
export function backfillTables(plan: BackfillPlan): string[] {
  const written = updatedTable(plan.updateSql);
  return [...new Set([qualify(plan.table.schema, plan.table.table), qualify(written.schema, written.table)])];
}

/**
 * Refuses (exit 3) a backfill or verification of `plan` whose tables would run another role's code as the current
 * role (src/session/table-trust.ts), the domains of the column it writes included: the catalog may have changed since
 * `plan` checked it.
 */
export async function requireTrustedBackfill(session: pg.ClientBase, plan: BackfillPlan): Promise<void> {
  await requireTrustedTables(session, backfillTables(plan), writtenValues(plan));
  await requireTrustedUpdate(session, plan);
}

/** The column `plan`'s UPDATE assigns, keyed by its table as backfillTables names it: its domains run. Pure. */
export function writtenValues(plan: BackfillPlan): Record<string, { columns: string[] }> {
  const written = updatedTable(plan.updateSql);
  return { [qualify(written.schema, written.table)]: { columns: updatedColumns(plan.updateSql) } };
}
