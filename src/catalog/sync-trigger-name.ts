import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { qualify } from '../render/quote.js';
import { SYNC_TRIGGER_NAME_PATTERN, syncTriggerNameAfter } from '../operations/naming.js';
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';

/**
 * PostgreSQL fires the BEFORE row triggers of one event in name order; a rename's sync triggers must come last so
 * they copy the values the application's own triggers set. `plan` reads the table's BEFORE INSERT/UPDATE row
 * triggers (phasectl's own excepted) and returns the sync trigger name to record when one of them sorts after the
 * default `zz_phasectl_sync_<id>` (undefined: the default does). The generated trigger step checks it again at
 * migrate time (templates/rename/trigger.sql.hbs). On a partitioned table PostgreSQL clones the sync triggers to every
 * partition, where they fire in name order with the partition's own BEFORE triggers: those count too
 * (pg_partition_tree lists a partitioned table and all its partitions; it is empty for an ordinary table).
 */
export async function chooseSyncTriggerName(
  db: Kysely<any>,
  table: { schema: string; table: string },
  changeId: string,
): Promise<string | undefined> {
  const { rows } = await sql<{ name: string }>`
    SELECT t.tgname AS name FROM pg_catalog.pg_trigger t
    WHERE (t.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${qualify(table.schema, table.table)})
           OR t.tgrelid IN (SELECT p.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass(${qualify(table.schema, table.table)})) AS p))
      AND NOT t.tgisinternal
      AND (t.tgtype & 1) OPERATOR(pg_catalog.=) 1 AND (t.tgtype & 2) OPERATOR(pg_catalog.=) 2 AND (t.tgtype & (4 | 16)) OPERATOR(pg_catalog.<>) 0
      AND NOT (t.tgname::text OPERATOR(pg_catalog.~) ${SYNC_TRIGGER_NAME_PATTERN})
    ORDER BY t.tgname::text COLLATE "C"`.execute(db);
  // A trigger of the parent is cloned under its own name to every partition: name it once.
  const names = [...new Set(rows.map((row) => row.name))];
  const name = syncTriggerNameAfter(changeId, names);
  if (name !== null) return name;
  const tableName = displayColumn(table.schema, table.table);
  throw new InputError(
    `${tableName} has BEFORE row trigger ${names.map((name) => displayIdentifier(name)).join(', ')}; no sync trigger name can sort after all of them, so their changes to the column would not be copied`,
    {
      hint: `rename the trigger whose name starts beyond "z" (ALTER TRIGGER … ON ${tableName} RENAME TO …), then plan again`,
    },
  );
}
