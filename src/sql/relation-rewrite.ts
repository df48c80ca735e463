/**
 * One statement pointed at another table: every schema-qualified mention of table `from` as a relation (FROM, JOIN,
 * UPDATE target) names `to` instead, the rest of the text byte for byte. Used to run a partitioned table's batch
 * statements on one leaf partition at a time. Pure.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseStatement, scanTokens, SqlParseError } from './parser.js';

export interface RelationName {
  schema: string;
  table: string;
}

/**
 * `sql` with each `schema.table` naming `from` replaced by `to` (quoted). The scanner finds the candidate places
 * (three tokens: name, `.`, name); the parser decides: the result must parse to the original tree with exactly the
 * relations naming `from` renamed, and name `from` nowhere. Else SqlParseError (e.g. `from` written unqualified).
 *
 * ```sql
 * UPDATE "public"."events" AS t SET … WHERE …   →   UPDATE "public"."events_2026_01" AS t SET … WHERE …
 * ```
 */
export function retargetRelation(sql: string, from: RelationName, to: RelationName): string {
  const tokens = scanTokens(sql);
  let result = '';
  let copied = 0;
  for (let i = 0; i + 2 < tokens.length; i += 1) {
    const [schema, dot, table] = [tokens[i]!, tokens[i + 1]!, tokens[i + 2]!];
    if (dot.text !== '.' || identifierValue(schema.text) !== from.schema || identifierValue(table.text) !== from.table)
      continue;
    // Not the tail of a longer name (`db.schema.table` or `schema.table.column`).
    if (tokens[i - 1]?.text === '.' || tokens[i + 3]?.text === '.') continue;
    result += sql.slice(copied, schema.start) + `${quoteName(to.schema)}.${quoteName(to.table)}`;
    copied = table.end;
    i += 2;
  }
  result += sql.slice(copied);
  const original = parseStatement(sql);
  const expected = renamedRelations(original, from, to);
  const actual = parseStatement(result);
  // Refused: the statement names no relation `from` at all, or names it in a way left in place (unqualified).
  const unchanged = isDeepStrictEqual(expected, original);
  const leftover = !isDeepStrictEqual(renamedRelations(actual, from, to), actual) || namesUnqualified(actual, from);
  if (unchanged || leftover || !isDeepStrictEqual(actual, expected))
    throw new SqlParseError(
      `cannot point ${JSON.stringify(sql)} at ${to.schema}.${to.table}: ${from.schema}.${from.table} is not named (only) as a schema-qualified relation`,
    );
  return result;
}

/**
 * The tree with every RangeVar naming `from` naming `to`. A RangeVar is recognised by its fields (`relname` and
 * `relpersistence`): in FROM it is wrapped as `{ RangeVar: … }`, as an UPDATE's target it stands bare.
 */
function renamedRelations(node: unknown, from: RelationName, to: RelationName): unknown {
  if (Array.isArray(node)) return node.map((item) => renamedRelations(item, from, to));
  if (node === null || typeof node !== 'object') return node;
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) copy[key] = renamedRelations(value, from, to);
  const isRangeVar = 'relname' in copy && 'relpersistence' in copy;
  if (isRangeVar && copy.schemaname === from.schema && copy.relname === from.table) {
    copy.schemaname = to.schema;
    copy.relname = to.table;
  }
  return copy;
}

/** Whether a RangeVar of the tree names `from.table` without a schema (search_path decides: not the same table for sure). */
function namesUnqualified(node: unknown, from: RelationName): boolean {
  if (Array.isArray(node)) return node.some((item) => namesUnqualified(item, from));
  if (node === null || typeof node !== 'object') return false;
  const fields = node as Record<string, unknown>;
  if ('relname' in fields && 'relpersistence' in fields && fields.relname === from.table && !fields.schemaname)
    return true;
  return Object.values(fields).some((value) => namesUnqualified(value, from));
}

/** The name an identifier token spells: quoted as written, unquoted folded to lower case. */
function identifierValue(text: string): string | undefined {
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) return text.slice(1, -1).replace(/""/g, '"');
  return /^[A-Za-z_][A-Za-z0-9_$]*$/.test(text) ? text.toLowerCase() : undefined;
}

function quoteName(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
