/**
 * `--lock-timeout` without touching the files: the runner runs each file as written, and right after a
 * statement that sets lock_timeout (`SET [LOCAL] lock_timeout …`, `RESET lock_timeout`, read by PostgreSQL's
 * own parser) it sets the override in the same scope. Before a file it is also the session's default. So a
 * file keeps its own safe value for any other runner (psql, kysely, db-migrate), its text and checksum are
 * what was reviewed, and `--lock-timeout` still wins for the statements that follow the file's own SET.
 */
import { parseStatement, SqlParseError } from '../sql/parser.js';

/** Default lock_timeout for files that do not set one, and for backfill batches. */
export const DEFAULT_LOCK_TIMEOUT_MS = 2000;

/** Where a statement sets lock_timeout: `local` (this transaction), `session`, or undefined when it does not. Pure. */
export function lockTimeoutScope(statement: string): 'local' | 'session' | undefined {
  // Cheap test first: most statements never mention it, and the parser is not free.
  if (!statement.toLowerCase().includes('lock_timeout')) return undefined;
  let tree: unknown;
  try {
    tree = parseStatement(statement);
  } catch (error) {
    if (error instanceof SqlParseError) return undefined; // not ours to judge: PostgreSQL will say what is wrong
    throw error;
  }
  const set = (tree as { VariableSetStmt?: { name?: string; is_local?: boolean } }).VariableSetStmt;
  if (set?.name !== 'lock_timeout') return undefined;
  return set.is_local ? 'local' : 'session';
}

/** The statement that applies the override `ms` in `scope`. */
export function lockTimeoutSql(scope: 'local' | 'session', ms: number): string {
  return `SET${scope === 'local' ? ' LOCAL' : ''} lock_timeout = '${Math.round(ms)}ms'`;
}
