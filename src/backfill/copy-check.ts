import type pg from 'pg';
import { SYNC_TRIGGER_NAME_PATTERN } from '../operations/naming.js';
import { qualify } from '../render/quote.js';
import type { TableName } from '../spec/types.js';

/**
 * Verifying phase 1's copy as it is made, instead of walking the whole table again after it (docs/internals.md,
 * "Verified as copied"). A batch leaves every row of its range in sync: it sets the new column to the old one where
 * they differ, and only a BEFORE row trigger firing after the sync ones could change either afterwards. After its
 * batch a row changes only by writes, and every write fires the sync triggers — unless they were disabled, replaced
 * or outrun. So the copy is verified when the table's triggers, with their functions, are the very same catalog rows
 * after the last batch as before the first (an ALTER of a trigger or a CREATE OR REPLACE of its function writes a new
 * row version: another xmin), phasectl's sync triggers fire ALWAYS (also under session_replication_role = replica),
 * and no BEFORE row trigger sorts after them. Anything else, and the engine's caller walks the table as before.
 * Phase 2 walks the table again before its switch in every case: nothing irreversible rests on this check alone.
 */

/**
 * The table's triggers as catalog row versions, or undefined when the copy cannot be verified as it is made: no sync
 * trigger, one not firing ALWAYS, a BEFORE row trigger of the application that fires after the first sync trigger
 * (name order: its changes would not be copied; the expand step refuses one, but it may have been created since), any
 * other BEFORE UPDATE row trigger while the sync triggers have column lists (it may set the old column on an update
 * that does not name it, which fires no sync trigger; phase 2's switch changes their form for it), or a child table
 * by INHERITS (its rows fire their own triggers, not the table's; `plan` refuses one, the same).
 */
export async function syncTriggersFingerprint(session: pg.ClientBase, table: TableName): Promise<string | undefined> {
  const { rows } = await session.query<{ fingerprint: string | null; sync: string; unsafe: string }>(
    `WITH rel AS (SELECT pg_catalog.to_regclass($1) AS oid),
          trig AS (
            SELECT t.oid, t.xmin, t.tgenabled, t.tgname::pg_catalog.text COLLATE pg_catalog."C" AS name, t.tgtype,
                   t.tgisinternal, pg_catalog.cardinality(t.tgattr::pg_catalog.int2[]) AS listed, p.oid AS fn, p.xmin AS fn_xmin, t.tgname::pg_catalog.text OPERATOR(pg_catalog.~) $2 AS sync
              FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
             WHERE t.tgrelid OPERATOR(pg_catalog.=) (SELECT oid FROM rel))
     SELECT pg_catalog.string_agg(oid::pg_catalog.text || '/' || xmin::pg_catalog.text || '/' || tgenabled::pg_catalog.text
              || '/' || fn::pg_catalog.text || '/' || fn_xmin::pg_catalog.text, ',' ORDER BY oid) AS fingerprint,
            pg_catalog.count(*) FILTER (WHERE sync) AS sync,
            pg_catalog.count(*) FILTER (WHERE sync AND tgenabled OPERATOR(pg_catalog.<>) 'A')
              + pg_catalog.count(*) FILTER (WHERE NOT sync AND NOT tgisinternal
                  AND (tgtype OPERATOR(pg_catalog.&) 3) OPERATOR(pg_catalog.=) 3
                  AND name OPERATOR(pg_catalog.>) (SELECT pg_catalog.min(name) FROM trig WHERE sync))
              + CASE WHEN pg_catalog.bool_or(sync AND listed OPERATOR(pg_catalog.>) 0)
                      AND pg_catalog.bool_or(NOT sync AND NOT tgisinternal
                            AND (tgtype OPERATOR(pg_catalog.&) 19) OPERATOR(pg_catalog.=) 19)
                     THEN 1 ELSE 0 END
              + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_inherits AS i
                  WHERE i.inhparent OPERATOR(pg_catalog.=) (SELECT oid FROM rel)) AS unsafe
       FROM trig`,
    [qualify(table.schema, table.table), SYNC_TRIGGER_NAME_PATTERN],
  );
  const row = rows[0];
  if (!row?.fingerprint || Number(row.sync) === 0 || Number(row.unsafe) > 0) return undefined;
  return row.fingerprint;
}
