import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { displayColumn } from '../spec/identifiers.js';
import type { GeneratedColumnFact, ViewFact } from '../spec/types.js';
import { VIEW_FINGERPRINT_SQL } from '../dependents/view-fingerprint.js';

/**
 * The views that read column `attnum` of table `tableOid` directly (pg_depend through their rewrite rule), with
 * definition, options and fingerprint. Views that read only another view's output are not listed: they keep
 * working as long as that view keeps its columns. A materialized view is refused (see below).
 */
export async function readDependentViews(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  target: { schema: string; table: string; column: string },
): Promise<ViewFact[]> {
  const where = displayColumn(target.schema, target.table, target.column);
  return db.transaction().execute(async (trx) => {
    // The same path as the generated phase 3 (templates/shared/timeouts.hbs): every name printed qualified.
    await sql`SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true)`.execute(trx);
    const { rows } = await sql<{
      schema: string;
      name: string;
      relkind: string;
      definition: string;
      options: string[] | null;
      fingerprint: string;
    }>`
      SELECT DISTINCT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, pg_catalog.pg_get_viewdef(c.oid) AS definition,
             c.reloptions::text[] AS options, ${sql.raw(VIEW_FINGERPRINT_SQL)} AS fingerprint
      FROM pg_catalog.pg_depend dep
      JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) dep.objid
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.ev_class
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      WHERE dep.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
        AND dep.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
        AND dep.refobjid OPERATOR(pg_catalog.=) ${tableOid} AND dep.refobjsubid OPERATOR(pg_catalog.=) ${attnum}
        AND c.oid OPERATOR(pg_catalog.<>) ${tableOid}
      ORDER BY 1, 2`.execute(trx);
    const materialized = rows.filter((row) => row.relkind === 'm');
    if (materialized.length > 0) {
      const names = materialized.map((row) => displayColumn(row.schema, row.name)).join(', ');
      throw new InputError(
        `${where} is read by materialized view ${names}; phasectl cannot re-point a materialized view without a stale window or a long lock (its query cannot be replaced in place, only dropped and rebuilt with a full REFRESH)`,
        {
          hint:
            'after phase 2 (the new column is kept equal to the old one), create a copy reading the new column (CREATE MATERIALIZED VIEW … AS …, then a UNIQUE index and REFRESH MATERIALIZED VIEW CONCURRENTLY as needed), ' +
            'switch readers to it, drop the old materialized view, then plan this change again',
        },
      );
    }
    return rows.map((row) => ({
      schema: row.schema,
      name: row.name,
      definition: row.definition,
      ...(row.options && row.options.length > 0 ? { options: row.options } : {}),
      fingerprint: row.fingerprint,
    }));
  });
}

/**
 * Virtual generated columns (PostgreSQL 18) of the table computed from column `attnum`: phase 3 re-points their
 * expression (SET EXPRESSION: no rewrite for a virtual column). Stored ones are refused elsewhere (src/catalog/refusals.ts).
 */
export async function readVirtualGeneratedColumns(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
): Promise<GeneratedColumnFact[]> {
  const { rows } = await sql<{ name: string; expression: string }>`
    SELECT DISTINCT a.attname AS name, pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) AS expression
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_attrdef ad ON ad.adrelid OPERATOR(pg_catalog.=) a.attrelid AND ad.adnum OPERATOR(pg_catalog.=) a.attnum
    JOIN pg_catalog.pg_depend d ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.refobjid OPERATOR(pg_catalog.=) ${tableOid} AND d.refobjsubid OPERATOR(pg_catalog.=) ${attnum}
      AND ((d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) ad.oid)
        OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) a.attrelid AND d.objsubid OPERATOR(pg_catalog.=) a.attnum))
    WHERE a.attrelid OPERATOR(pg_catalog.=) ${tableOid} AND a.attnum OPERATOR(pg_catalog.<>) ${attnum} AND a.attgenerated OPERATOR(pg_catalog.=) 'v' AND NOT a.attisdropped
    ORDER BY 1`.execute(db);
  return rows;
}
