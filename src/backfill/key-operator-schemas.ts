import type pg from 'pg';
import { keyOperatorSchemasQuery } from '../operations/key-operators.js';

/**
 * Appends the key operators' schemas (see keyOperatorSchemasQuery) to the session's search_path, after what is
 * there (pg_catalog first), so the key comparisons of the walk's statements use the operators the key's index
 * orders by. Call inside withGuardedSession, which restores the path afterwards.
 */
export async function addKeyOperatorSchemas(session: pg.ClientBase, keyTypes: readonly string[]): Promise<void> {
  const { rows } = await session.query<{ schema: string }>(keyOperatorSchemasQuery('$1::pg_catalog.text[]'), [
    keyTypes,
  ]);
  if (rows.length === 0) return;
  const schemas = rows.map((row) => `"${row.schema.replace(/"/g, '""')}"`).join(', ');
  await session.query(
    `SELECT pg_catalog.set_config('search_path', pg_catalog.current_setting('search_path') OPERATOR(pg_catalog.||) $1, false)`,
    [`, ${schemas}`],
  );
}
