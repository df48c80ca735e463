import { CompiledQuery, type Kysely } from 'kysely';
import { qualify } from '../render/quote.js';
import { rulesNamingColumnSql } from '../sql/rules-naming-column.js';
import type { ColumnRef } from '../spec/types.js';

/**
 * Rules (`CREATE RULE … ON INSERT/UPDATE/DELETE …`, not the rule behind a view) that name `column`, as
 * `rule on table`: PostgreSQL records them as depending on the column, so phase 3's DROP COLUMN would fail on them
 * (or take them with it under CASCADE). phasectl cannot re-point a rule; `plan` lists them as the team's work and
 * phase 3's guard (templates/shared/guard-rules.hbs) refuses until none is left. Both run rulesNamingColumnSql.
 */
export async function rulesNamingColumn(db: Kysely<any>, column: ColumnRef): Promise<string[]> {
  const { rows } = await db.executeQuery<{ name: string }>(
    CompiledQuery.raw(rulesNamingColumnSql('$1', '$2'), [qualify(column.schema, column.table), column.column]),
  );
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
