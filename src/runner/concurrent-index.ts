import type pg from 'pg';

/** The parts of `CREATE [UNIQUE] INDEX CONCURRENTLY IF NOT EXISTS <name> ON <table> …` we need. */
export interface ConcurrentIndexTarget {
  index: string;
  /** The table as written (quoted identifiers kept), for to_regclass(). */
  table: string;
}

const ident = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const createConcurrently = new RegExp(
  String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+IF\s+NOT\s+EXISTS\s+(${ident})\s+ON\s+(?:ONLY\s+)?(${ident}(?:\s*\.\s*${ident})?)`,
  'i',
);

/** Recognises a CREATE INDEX CONCURRENTLY IF NOT EXISTS statement (leading comments allowed). Pure. */
export function parseConcurrentIndex(statement: string): ConcurrentIndexTarget | undefined {
  const body = stripLeadingComments(statement);
  const match = createConcurrently.exec(body);
  if (!match) return undefined;
  return { index: unquoteIdent(match[1]!), table: match[2]!.replace(/\s+/g, '') };
}

/** `"Foo""x"` → `Foo"x`; unquoted names fold to lower case, as PostgreSQL does. */
export function unquoteIdent(text: string): string {
  return text.startsWith('"') ? text.slice(1, -1).replace(/""/g, '"') : text.toLowerCase();
}

function stripLeadingComments(sql: string): string {
  let rest = sql.trimStart();
  for (;;) {
    if (rest.startsWith('--')) {
      const end = rest.indexOf('\n');
      rest = end < 0 ? '' : rest.slice(end + 1).trimStart();
    } else if (rest.startsWith('/*')) {
      const end = rest.indexOf('*/');
      rest = end < 0 ? '' : rest.slice(end + 2).trimStart();
    } else {
      return rest;
    }
  }
}

/**
 * An earlier failed `CREATE INDEX CONCURRENTLY` leaves an INVALID index behind, and `IF NOT EXISTS` would
 * then skip the build: drop it (CONCURRENTLY, so writes go on) so the statement rebuilds it. Only an
 * INVALID index of that name on that very table is dropped. Returns its qualified name, if dropped.
 */
export async function dropInvalidIndex(
  session: pg.ClientBase,
  target: ConcurrentIndexTarget,
): Promise<string | undefined> {
  const { rows } = await session.query<{ qualified: string; valid: boolean }>(
    `SELECT c.oid::regclass::text AS qualified, i.indisvalid AS valid
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_index i ON i.indexrelid = c.oid
      WHERE c.relname = $1 AND i.indrelid = pg_catalog.to_regclass($2)
        AND c.relnamespace = (SELECT t.relnamespace FROM pg_catalog.pg_class t WHERE t.oid = pg_catalog.to_regclass($2))`,
    [target.index, target.table],
  );
  const found = rows[0];
  if (!found || found.valid) return undefined;
  await session.query(`DROP INDEX CONCURRENTLY IF EXISTS ${found.qualified}`);
  return found.qualified;
}

/**
 * The create-index guard (templates/shared/create-index.hbs) refuses an INVALID index only after checking
 * that it is this step's own (this table, the expected definition): the refusal tells phasectl's runner it
 * may drop and rebuild it. Other runners stop there, with the command in the hint.
 */
export function isInvalidIndexRefusal(error: unknown): boolean {
  const message = (error as { message?: unknown } | undefined)?.message;
  return (
    typeof message === 'string' && /^phasectl: index .* is INVALID \(an earlier build was interrupted\)$/s.test(message)
  );
}
