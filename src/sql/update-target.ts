/** Which table an UPDATE writes, read with PostgreSQL's own parser. Pure. */
import { parseStatement, SqlParseError } from './parser.js';
import type { RelationName } from './relation-rewrite.js';

/**
 * The schema-qualified table `sql`, one UPDATE statement (a WITH clause allowed), writes. SqlParseError for another
 * statement or an unqualified target (search_path would decide which table it is).
 *
 * ```sql
 * WITH p AS (SELECT …) UPDATE "public"."profiles" AS t SET … FROM p WHERE …   →   { schema: 'public', table: 'profiles' }
 * ```
 */
export function updatedTable(sql: string): RelationName {
  const tree = parseStatement(sql) as { UpdateStmt?: { relation?: { schemaname?: string; relname?: string } } };
  const relation = tree.UpdateStmt?.relation;
  if (!relation?.relname || !relation.schemaname)
    throw new SqlParseError(`expected an UPDATE of a schema-qualified table: ${JSON.stringify(sql)}`);
  return { schema: relation.schemaname, table: relation.relname };
}

/** The columns `sql`, one UPDATE statement (see updatedTable), assigns, in its SET order. Pure. */
export function updatedColumns(sql: string): string[] {
  const tree = parseStatement(sql) as { UpdateStmt?: { targetList?: { ResTarget?: { name?: string } }[] } };
  return (tree.UpdateStmt?.targetList ?? []).flatMap((target) =>
    target.ResTarget?.name ? [target.ResTarget.name] : [],
  );
}
