import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { displayIdentifier } from '../spec/identifiers.js';

/**
 * What `plan` refuses on a declaratively partitioned table, each with the reason. The DDL itself goes through the
 * parent (ADD COLUMN, the sync triggers, which PostgreSQL clones to every partition, present and future; indexes are
 * built per partition and attached, src/operations/partitioned-indexes.ts), so the refusals are about what the parent
 * cannot carry:
 * - the column is part of the partition key of the table or of a sub-partitioned partition: PostgreSQL cannot change
 *   a partition key, so the old column could never be dropped;
 * - a partition is a foreign table: ADD COLUMN on a foreign table changes only the local definition, the remote
 *   table has no such column, so every read and write of that partition would fail;
 * - a UNIQUE constraint on the column: PostgreSQL cannot attach a constraint to an existing index of a partitioned
 *   table (ADD CONSTRAINT … USING INDEX), so the copy would be built under a lock on every partition;
 * - a foreign key on the column: PostgreSQL 17 and older cannot add it NOT VALID on a partitioned table.
 */
export async function refusePartitionedSurroundings(
  db: Kysely<any>,
  tableOid: number,
  column: string,
  where: string,
  tableName: string,
): Promise<void> {
  const { rows: keyed } = await sql<{ name: string; key: string }>`
    SELECT ${qualifiedName('p.relid')} AS name, pg_catalog.pg_get_partkeydef(p.relid) AS key
    FROM pg_catalog.pg_partition_tree(${tableOid}::pg_catalog.oid) p
    JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid OPERATOR(pg_catalog.=) p.relid
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) p.relid
      AND a.attname OPERATOR(pg_catalog.=) ${column} AND NOT a.attisdropped
    WHERE a.attnum OPERATOR(pg_catalog.=) ANY (pt.partattrs::int2[])
       -- A column a key expression reads is recorded as internally dependent on its table (as a key column is).
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) p.relid
                    AND d.objsubid OPERATOR(pg_catalog.=) a.attnum AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
                    AND d.refobjid OPERATOR(pg_catalog.=) p.relid AND d.refobjsubid OPERATOR(pg_catalog.=) 0
                    AND d.deptype OPERATOR(pg_catalog.=) 'i')
    ORDER BY p.level, 1`.execute(db);
  const first = keyed[0];
  if (first) {
    throw new InputError(
      `${where} is part of the partition key of ${first.name} (PARTITION BY ${first.key}); PostgreSQL cannot change a partition key, so the old column could never be dropped`,
      {
        hint: 'a partition key column cannot be renamed without downtime: rename it with ALTER TABLE … RENAME COLUMN in a release where no code uses it (a catalog-only change)',
      },
    );
  }
  const { rows: foreign } = await sql<{ name: string }>`
    SELECT ${qualifiedName('p.relid')} AS name
    FROM pg_catalog.pg_partition_tree(${tableOid}::pg_catalog.oid) p
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) p.relid
    WHERE c.relkind OPERATOR(pg_catalog.=) 'f'
    ORDER BY 1`.execute(db);
  if (foreign.length > 0) {
    throw new InputError(
      `${tableName} has foreign-table partition ${foreign.map((row) => row.name).join(', ')}; ADD COLUMN on a foreign table changes only its local definition, the remote table would have no such column`,
      {
        hint: 'detach the foreign partitions (ALTER TABLE … DETACH PARTITION …) and rename the column on their remote tables yourself, or keep the old name',
      },
    );
  }
  // An index or CHECK of one partition only (not inherited from the parent) would not be copied, and phase 3 would
  // drop it with the old column.
  const { rows: local } = await sql<{ what: string }>`
    SELECT 'index ' OPERATOR(pg_catalog.||) ${qualifiedName('i.indexrelid')}
             OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||) ${qualifiedName('p.relid')} AS what
    FROM pg_catalog.pg_partition_tree(${tableOid}::pg_catalog.oid) p
    JOIN pg_catalog.pg_index i ON i.indrelid OPERATOR(pg_catalog.=) p.relid
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) p.relid AND a.attname OPERATOR(pg_catalog.=) ${column}
    WHERE p.level OPERATOR(pg_catalog.>) 0
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits h WHERE h.inhrelid OPERATOR(pg_catalog.=) i.indexrelid)
      AND (a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey::int2[])
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) i.indexrelid
                        AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid OPERATOR(pg_catalog.=) p.relid
                        AND d.refobjsubid OPERATOR(pg_catalog.=) a.attnum))
    UNION ALL
    SELECT 'constraint ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(c.conname)
             OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||) ${qualifiedName('p.relid')}
    FROM pg_catalog.pg_partition_tree(${tableOid}::pg_catalog.oid) p
    JOIN pg_catalog.pg_constraint c ON c.conrelid OPERATOR(pg_catalog.=) p.relid
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) p.relid AND a.attname OPERATOR(pg_catalog.=) ${column}
    WHERE p.level OPERATOR(pg_catalog.>) 0 AND c.coninhcount OPERATOR(pg_catalog.=) 0 AND c.contype IN ('c', 'u', 'f', 'x')
      AND a.attnum OPERATOR(pg_catalog.=) ANY (c.conkey)
    UNION ALL
    -- A partition's own trigger (UPDATE OF, WHEN) or policy on the column: phase 3's DROP COLUMN would fail on it.
    SELECT CASE d.classid WHEN 'pg_catalog.pg_trigger'::pg_catalog.regclass THEN 'trigger ' ELSE 'policy ' END
             OPERATOR(pg_catalog.||) pg_catalog.quote_ident(COALESCE(t.tgname, pol.polname))
             OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||) ${qualifiedName('p.relid')}
    FROM pg_catalog.pg_partition_tree(${tableOid}::pg_catalog.oid) p
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) p.relid AND a.attname OPERATOR(pg_catalog.=) ${column}
    JOIN pg_catalog.pg_depend d ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.refobjid OPERATOR(pg_catalog.=) p.relid AND d.refobjsubid OPERATOR(pg_catalog.=) a.attnum
    LEFT JOIN pg_catalog.pg_trigger t ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
      AND t.oid OPERATOR(pg_catalog.=) d.objid AND t.tgparentid OPERATOR(pg_catalog.=) 0 AND NOT t.tgisinternal
    LEFT JOIN pg_catalog.pg_policy pol ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass
      AND pol.oid OPERATOR(pg_catalog.=) d.objid
    WHERE p.level OPERATOR(pg_catalog.>) 0 AND (t.oid IS NOT NULL OR pol.oid IS NOT NULL)
    ORDER BY 1`.execute(db);
  if (local.length > 0) {
    throw new InputError(
      `${where} has ${local.map((row) => row.what).join(', ')} of a partition only (not the parent's); phasectl copies what the parent has, so phase 3 would drop it with the old column (or fail on it)`,
      {
        hint: `define it on the parent ${tableName} instead (or drop it if it is not needed), then plan again`,
      },
    );
  }
  // Statistics objects are never inherited: one on a partition is that partition's own, and phase 3's DROP COLUMN
  // would drop it without a word (as on an ordinary table, src/catalog/refusals.ts).
  const { rows: statistics } = await sql<{ what: string }>`
    SELECT pg_catalog.quote_ident(s.stxname) OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||) ${qualifiedName('p.relid')} AS what
    FROM pg_catalog.pg_partition_tree(${tableOid}::pg_catalog.oid) p
    JOIN pg_catalog.pg_statistic_ext s ON s.stxrelid OPERATOR(pg_catalog.=) p.relid
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) p.relid AND a.attname OPERATOR(pg_catalog.=) ${column}
    WHERE p.level OPERATOR(pg_catalog.>) 0
      AND (a.attnum OPERATOR(pg_catalog.=) ANY (s.stxkeys::int2[])
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) s.oid
                        AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid OPERATOR(pg_catalog.=) p.relid
                        AND d.refobjsubid OPERATOR(pg_catalog.=) a.attnum))
    ORDER BY 1`.execute(db);
  if (statistics.length > 0) {
    throw new InputError(
      `${where} is used by statistics object ${statistics.map((row) => row.what).join(', ')}; phase 3's DROP COLUMN would drop it without a word`,
      { hint: 'drop the statistics object and re-create it on the new column after phase 3, then plan again' },
    );
  }
  const { rows: constraints } = await sql<{ name: string; contype: string }>`
    SELECT c.conname AS name, c.contype::pg_catalog.text AS contype
    FROM pg_catalog.pg_constraint c
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.conrelid AND a.attname OPERATOR(pg_catalog.=) ${column}
    WHERE c.conrelid OPERATOR(pg_catalog.=) ${tableOid} AND c.contype IN ('u', 'f') AND a.attnum OPERATOR(pg_catalog.=) ANY (c.conkey)
    ORDER BY c.contype, c.conname`.execute(db);
  const unique = constraints.find((row) => row.contype === 'u');
  if (unique) {
    throw new InputError(
      `${where} is part of UNIQUE constraint ${displayIdentifier(unique.name)} of partitioned table ${tableName}; PostgreSQL cannot attach a constraint to an index built beforehand on a partitioned table (ADD CONSTRAINT … USING INDEX), so its copy would lock every partition while it is built`,
      {
        hint: `replace the constraint by a unique index first (CREATE UNIQUE INDEX … ON ${tableName} with the same columns, then ALTER TABLE … DROP CONSTRAINT ${displayIdentifier(unique.name)}), then plan again: phasectl copies unique indexes partition by partition`,
      },
    );
  }
  const foreignKey = constraints.find((row) => row.contype === 'f');
  if (foreignKey) {
    throw new InputError(
      `${where} is part of foreign key ${displayIdentifier(foreignKey.name)} of partitioned table ${tableName}; PostgreSQL cannot add a foreign key NOT VALID on a partitioned table, so its copy would lock every partition for a full scan`,
      {
        hint: `drop the foreign key before the change (ALTER TABLE ${tableName} DROP CONSTRAINT ${displayIdentifier(foreignKey.name)}) and add it on the new column after phase 3`,
      },
    );
  }
}

/** `schema.name` of the relation `oid` (an SQL expression), quoted where needed, whatever the session's search_path. */
function qualifiedName(oid: string) {
  return sql.raw(
    `(SELECT pg_catalog.quote_ident(qn.nspname) OPERATOR(pg_catalog.||) '.' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(qc.relname)
      FROM pg_catalog.pg_class qc JOIN pg_catalog.pg_namespace qn ON qn.oid OPERATOR(pg_catalog.=) qc.relnamespace
      WHERE qc.oid OPERATOR(pg_catalog.=) ${oid})`,
  );
}

/** The reason a move refuses a partitioned table (source or target), for its error message. */
export function movePartitionedReason(tableName: string): string {
  return `${tableName} is a partitioned table; a move keeps two tables in sync through cross-table triggers and a join on a unique key, which phasectl builds for ordinary tables only (on a partitioned table that key must include the partition key, and its index would have to be built partition by partition)`;
}
