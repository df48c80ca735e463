import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { inheritanceChildrenSql } from '../sql/inheritance-children.js';

/**
 * Refuses a table that takes part in table inheritance in a way the phases cannot carry, before `plan` writes
 * anything. Each case either loses writes or stops a phase half way:
 *
 * - a partition of a partitioned table (`relispartition`): PostgreSQL refuses `ADD COLUMN` on a partition, so
 *   phase 1 would fail; the rename belongs on the partitioned table, which carries every partition.
 * - a column inherited from a parent (`attinhcount > 0`, `CREATE TABLE … INHERITS`): PostgreSQL refuses to drop
 *   an inherited column, so phase 3's contract would fail after phases 1 and 2 shipped.
 * - a table with children by `INHERITS` (not partitions): `ADD COLUMN` and the NOT NULL stand-in CHECK reach the
 *   children, but row triggers are per table, so the sync triggers never fire for the children's rows. An insert
 *   into a child then fails on the inherited `<table>_<new>_not_null_check` (or leaves the new column NULL), an
 *   update of a child's row (through the parent or not) changes one column only, and phase 3 drops the old
 *   column from every child with the values written there.
 *
 * `column` (attnum) is the column of the change, when the table is its source.
 */
export async function refuseInheritance(
  db: Kysely<any>,
  tableOid: number,
  tableName: string,
  column?: { attnum: number; where: string },
): Promise<void> {
  const { rows } = await sql<{
    partition_of: string | null;
    children: string | null;
    inherited_from: string[] | null;
  }>`
    SELECT (SELECT h.inhparent::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_inherits AS h
             WHERE h.inhrelid OPERATOR(pg_catalog.=) c.oid AND c.relispartition LIMIT 1) AS partition_of,
           (${sql.raw(inheritanceChildrenSql('c.oid'))}) AS children,
           (SELECT pg_catalog.array_agg(h.inhparent::pg_catalog.regclass::pg_catalog.text ORDER BY h.inhseqno)
              FROM pg_catalog.pg_inherits AS h
             WHERE h.inhrelid OPERATOR(pg_catalog.=) c.oid AND NOT c.relispartition) AS inherited_from
      FROM pg_catalog.pg_class AS c
     WHERE c.oid OPERATOR(pg_catalog.=) ${tableOid}`.execute(db);
  const row = rows[0];
  if (!row) return;
  if (row.partition_of !== null) {
    throw new InputError(
      `${tableName} is a partition of ${row.partition_of}; PostgreSQL adds no column to a partition`,
      {
        hint: `plan the change on the partitioned table ${row.partition_of}: phasectl carries every partition through the phases`,
      },
    );
  }
  if (row.children) {
    throw new InputError(
      `${tableName} has child tables by INHERITS (${row.children}); the sync triggers would not fire for their rows (row triggers are per table), so writes to the children's rows would fail or be lost when phase 3 drops the old column from them`,
      {
        hint: 'change the children into partitions of a partitioned table (then the whole tree is carried), or rename the column with ALTER TABLE … RENAME COLUMN in a release where no code uses it',
      },
    );
  }
  if (column && row.inherited_from && row.inherited_from.length > 0) {
    const { rows: inherited } = await sql<{ inherited: boolean }>`
      SELECT a.attinhcount OPERATOR(pg_catalog.>) 0 AS inherited FROM pg_catalog.pg_attribute AS a
       WHERE a.attrelid OPERATOR(pg_catalog.=) ${tableOid} AND a.attnum OPERATOR(pg_catalog.=) ${column.attnum}`.execute(
      db,
    );
    if (inherited[0]?.inherited) {
      throw new InputError(
        `${column.where} is inherited from ${row.inherited_from.join(', ')} (INHERITS); PostgreSQL cannot drop an inherited column, so phase 3 would fail`,
        {
          hint: 'a column of the parent belongs to the parent and all its children: it cannot be renamed on one child (NO INHERIT the child first, or rename it with ALTER TABLE … RENAME COLUMN in a release where no code uses it)',
        },
      );
    }
  }
}
