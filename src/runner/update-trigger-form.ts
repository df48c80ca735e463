import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import { syncTriggerNames } from '../operations/naming.js';
import { qualify } from '../render/quote.js';
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
    `SELECT pg_catalog.string_agg(DISTINCT pg_catalog.format('%I on %s', t.tgname, t.tgrelid::pg_catalog.regclass), ', ') AS triggers
       FROM pg_catalog.pg_trigger AS t
       JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
       JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
      WHERE (t.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
             OR t.tgrelid IN (SELECT pt.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass($1)) AS pt))
        AND NOT t.tgisinternal
        AND (t.tgtype OPERATOR(pg_catalog.&) 19) OPERATOR(pg_catalog.=) 19
        AND n.nspname OPERATOR(pg_catalog.<>) 'phasectl'
        -- A column list naming only the two columns fires only when the sync trigger fires too.
        AND (pg_catalog.cardinality(t.tgattr::pg_catalog.int2[]) OPERATOR(pg_catalog.=) 0
             OR EXISTS (SELECT FROM pg_catalog.unnest(t.tgattr::pg_catalog.int2[]) AS c(attnum)
                        JOIN pg_catalog.pg_attribute AS a ON a.attrelid OPERATOR(pg_catalog.=) t.tgrelid
                                                          AND a.attnum OPERATOR(pg_catalog.=) c.attnum
                        WHERE a.attname OPERATOR(pg_catalog.<>) ALL ($3::pg_catalog.name[])))
        AND EXISTS (SELECT FROM pg_catalog.pg_trigger AS s
                     WHERE s.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
                       AND s.tgname OPERATOR(pg_catalog.=) $2 AND s.tgqual IS NULL)`,
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
