import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import type { IndexFact, ReferencingForeignKey } from '../spec/types.js';

/**
 * The foreign keys of other tables (or of this one, on other columns) that reference column `attnum` of the table,
 * read with search_path = pg_catalog, pg_temp so that pg_get_constraintdef qualifies the referenced table.
 * Refused (InputError) where phasectl cannot carry one: a referencing partitioned table (no NOT VALID foreign key
 * there), or a key whose unique index is not among the column's indexes phase 1 rebuilds on the new column.
 */
export async function readReferencingForeignKeys(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  indexes: IndexFact[],
  where: string,
): Promise<ReferencingForeignKey[]> {
  const { rows } = await sql<{
    schema: string;
    table: string;
    name: string;
    definition: string;
    relkind: string;
    index_name: string;
    own_column: boolean;
  }>`
    SELECT n.nspname AS schema, r.relname AS table, c.conname AS name, pg_catalog.pg_get_constraintdef(c.oid) AS definition,
           r.relkind::text AS relkind, ic.relname AS index_name,
           (c.conrelid OPERATOR(pg_catalog.=) ${tableOid} AND ${attnum}::int2 OPERATOR(pg_catalog.=) ANY (c.conkey)) AS own_column
    FROM pg_catalog.pg_constraint c
    JOIN pg_catalog.pg_class r ON r.oid OPERATOR(pg_catalog.=) c.conrelid
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) r.relnamespace
    JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) c.conindid
    WHERE c.contype OPERATOR(pg_catalog.=) 'f' AND c.confrelid OPERATOR(pg_catalog.=) ${tableOid}
      AND ${attnum}::int2 OPERATOR(pg_catalog.=) ANY (c.confkey) AND c.conparentid OPERATOR(pg_catalog.=) 0
    ORDER BY 1, 2, 3`.execute(db);
  for (const row of rows) {
    const key = `foreign key ${displayIdentifier(row.name)} on ${displayColumn(row.schema, row.table)}`;
    if (row.relkind === 'p') {
      throw new InputError(
        `${where} is referenced by ${key}, a partitioned table; PostgreSQL cannot add that key NOT VALID, so copying it would lock ${displayColumn(row.schema, row.table)} for a full scan`,
        {
          hint: 'drop that foreign key before the change and re-create it on the new column after phase 3',
        },
      );
    }
    if (row.own_column) {
      throw new InputError(
        `${where} is referenced by ${key}, which also starts from that column; phasectl cannot copy a key from the column to itself`,
        {
          hint: 'drop that foreign key before the change and re-create it on the new column after phase 3',
        },
      );
    }
    if (!indexes.some((index) => index.name === row.index_name)) {
      throw new InputError(
        `${where} is referenced by ${key} through index ${displayIdentifier(row.index_name)}, which phase 1 does not rebuild on the new column`,
        {
          hint: 'drop that foreign key before the change and re-create it on the new column after phase 3',
        },
      );
    }
  }
  return rows.map(({ schema, table, name, definition }) => ({ schema, table, name, definition }));
}
