import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import { syncTriggerNames } from '../operations/naming.js';
import { qualify } from '../render/quote.js';
import { otherUpdateTriggersSql } from '../sql/other-update-triggers.js';
import { displayColumn } from '../spec/identifiers.js';
import type { Change } from '../spec/types.js';

/**
 * A rename's update trigger fires only on updates that name one of its columns when the table had no other BEFORE
 * UPDATE row trigger at phase 1 (templates/rename/partials/update-trigger-form.hbs). One created since may set a
 * column on updates that do not name it, which the sync then misses: refuse at the gate of phase 2, before its verify
 * and before the authority moves to the new column (which would then miss those values for good). At phase 3 the
 * verify finds any row such a trigger left differing, and the old column goes.
 */
export async function refuseColumnListUpdateTrigger(session: pg.ClientBase, change: Change): Promise<void> {
  if (change.kind !== 'rename') return;
  const { schema, table } = change.rename;
  const syncTrigger = syncTriggerNames(change.id, change.rename.syncTrigger).triggerName;
  const { rows } = await session.query<{ triggers: string | null }>(
    `SELECT pg_catalog.string_agg(DISTINCT o.name, ', ') AS triggers
       FROM (${otherUpdateTriggersSql('pg_catalog.to_regclass($1)', '$3::pg_catalog.name[]')}) AS o
      WHERE EXISTS (SELECT FROM pg_catalog.pg_trigger AS s
                     WHERE s.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
                       AND s.tgname OPERATOR(pg_catalog.=) $2
                       AND pg_catalog.cardinality(s.tgattr::pg_catalog.int2[]) OPERATOR(pg_catalog.>) 0)`,
    [qualify(schema, table), syncTrigger, [change.rename.from, change.rename.to]],
  );
  const triggers = rows[0]?.triggers;
  if (!triggers) return;
  throw new RuntimeFailure(
    `BEFORE UPDATE row trigger(s) ${triggers} were created on ${displayColumn(schema, table)} after phase 1 of ${change.id}, whose sync trigger fires only on updates that name ${change.rename.from} or ${change.rename.to}: a value such a trigger sets on another update is not copied`,
    {
      hint: `apply the change's trigger definition again (triggers/${change.id}.sql, written by \`phasectl generate\`): it re-creates the sync trigger without a column list when such a trigger exists. Then \`phasectl backfill ${change.id} --repair\` for the updates made meanwhile, then \`phasectl migrate\` again`,
    },
  );
}
