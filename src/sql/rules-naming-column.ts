/**
 * Rules (`CREATE RULE … ON INSERT/UPDATE/DELETE …`, not the rule behind a view) that name a column, one row each,
 * `name` = `rule on table`, in order: PostgreSQL records them as depending on the column, so phase 3's DROP COLUMN
 * would fail on them (or take them with it under CASCADE). `table` and `column` are SQL expressions of type text
 * (`$1`, or a quoted literal): `plan` runs it with parameters (src/catalog/dependent-rules.ts), phase 3's guard with
 * literals (templates/shared/guard-rules.hbs, helper `rulesNamingColumn`). Pure.
 */
export function rulesNamingColumnSql(table: string, column: string): string {
  return `SELECT DISTINCT pg_catalog.quote_ident(r.rulename) OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||)
           r.ev_class::pg_catalog.regclass::pg_catalog.text AS name
      FROM pg_catalog.pg_depend AS d
      JOIN pg_catalog.pg_rewrite AS r ON r.oid OPERATOR(pg_catalog.=) d.objid
      JOIN pg_catalog.pg_attribute AS a ON a.attrelid OPERATOR(pg_catalog.=) d.refobjid AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
       AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.refobjid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${table})
       AND a.attname OPERATOR(pg_catalog.=) ${column} AND NOT a.attisdropped
       AND r.rulename OPERATOR(pg_catalog.<>) '_RETURN'
     ORDER BY 1`;
}
