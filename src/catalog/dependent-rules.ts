import { sql, type Kysely } from 'kysely';
import { qualify } from '../render/quote.js';
import type { ColumnRef } from '../spec/types.js';

/**
 * Rules (`CREATE RULE … ON INSERT/UPDATE/DELETE …`, not the rule behind a view) that name `column`, as
 * `rule on table`: PostgreSQL records them as depending on the column, so phase 3's DROP COLUMN would fail on them
 * (or take them with it under CASCADE). phasectl cannot re-point a rule; `plan` lists them as the team's work and
 * phase 3's guard (templates/shared/guard-rules.hbs) refuses until none is left.
 */
export async function rulesNamingColumn(db: Kysely<any>, column: ColumnRef): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT DISTINCT pg_catalog.quote_ident(r.rulename) OPERATOR(pg_catalog.||) ' on ' OPERATOR(pg_catalog.||)
           r.ev_class::pg_catalog.regclass::pg_catalog.text AS name
      FROM pg_catalog.pg_depend AS d
      JOIN pg_catalog.pg_rewrite AS r ON r.oid OPERATOR(pg_catalog.=) d.objid
      JOIN pg_catalog.pg_attribute AS a ON a.attrelid OPERATOR(pg_catalog.=) d.refobjid AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
     WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
       AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.refobjid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${qualify(column.schema, column.table)})
       AND a.attname OPERATOR(pg_catalog.=) ${column.column}
       AND r.rulename OPERATOR(pg_catalog.<>) '_RETURN'
     ORDER BY 1`.execute(db);
  return rows.map((row) => row.name);
}

/** Plan's notes: each rule to re-create before phase 3. Pure. */
export function ruleNotes(rules: readonly string[], where: string, replacement: string): string[] {
  if (rules.length === 0) return [];
  return [
    `work before phase 3: ${rules.length} rule(s) name ${where}; re-create each naming ${replacement} instead (CREATE OR REPLACE RULE, in the release of phase 2 or later) — phase 3 refuses to drop the column until then:`,
    ...rules.map((rule) => `  - rule ${rule}`),
  ];
}
