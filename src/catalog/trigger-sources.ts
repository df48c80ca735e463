import { sql, type Kysely } from 'kysely';
import { columnMentionCondition } from '../operations/column-mention.js';
import { SYNC_TRIGGER_NAME_PATTERN } from '../operations/naming.js';
import { quoteIdent } from '../render/quote.js';

/**
 * The user triggers on a table whose function source names `column` (the same text search as phase 3's
 * guard, templates/shared/guard-trigger-sources.hbs), as `trigger <name> runs <function>`. `plan` reports
 * them early: they work until phase 3, which refuses to drop the column while they still name it.
 */
export async function triggersNamingColumn(
  db: Kysely<any>,
  table: { schema: string; table: string },
  column: string,
): Promise<string[]> {
  const { rows } = await sql<{ description: string }>`
    SELECT pg_catalog.format('trigger %I runs %s', t.tgname, t.tgfoid::regprocedure) AS description
    FROM pg_catalog.pg_trigger AS t JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
    WHERE (t.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${`${quoteIdent(table.schema)}.${quoteIdent(table.table)}`})
           -- A partitioned table's partitions fire their own triggers too; a clone of the parent's is named once.
           OR t.tgrelid IN (SELECT tree.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass(${`${quoteIdent(table.schema)}.${quoteIdent(table.table)}`})) AS tree))
      AND t.tgparentid OPERATOR(pg_catalog.=) 0 AND NOT t.tgisinternal AND NOT (t.tgname::text OPERATOR(pg_catalog.~) ${SYNC_TRIGGER_NAME_PATTERN})
      AND ${sql.raw(columnMentionCondition('p.prosrc', column))}
    ORDER BY t.tgname`.execute(db);
  return rows.map((row) => row.description);
}

/** The plan's note about those triggers, or none. Pure. */
export function triggerSourceNotes(triggers: readonly string[], column: string, replacement: string): string[] {
  if (triggers.length === 0) return [];
  return [
    `note: ${triggers.join('; ')} — the function names ${column}. It keeps working until phase 3, which refuses to drop ${column} ` +
      `while it does: rewrite it to use ${replacement} in the release of phase 2.`,
  ];
}
