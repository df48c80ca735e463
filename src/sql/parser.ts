/**
 * PostgreSQL's own parser and scanner (libpg-query: the server's grammar compiled to WebAssembly), for
 * reading and rewriting SQL that PostgreSQL printed (index and constraint definitions; later views and
 * function bodies). Never regular expressions: a column named `date` or `text` must not be mistaken for
 * the type, a string constant or another table's column.
 *
 * The WebAssembly module is loaded once, when this module is first imported (top-level await), so every
 * function here is synchronous and generation stays a pure, offline function of phases.yaml.
 */
import { isDeepStrictEqual } from 'node:util';
import { loadModule, parseSync, scanSync } from 'libpg-query';

await loadModule();

/**
 * Answers already computed, by their inputs (pure text in, text out, so a hit is the same answer): generation asks for
 * the same rewrites and quotings many times per change, each rewrite proof parsing the statement once per token that
 * spells the column (a quarter of `generate`'s time on 1,000 changes before). Cleared when full.
 */
const splicedTexts = new Map<string, string>();
const keywordKinds = new Map<string, number>();
const ANSWERS_KEPT = 20_000;

/** A parse tree as libpg-query returns it (JSON of PostgreSQL's node structs). */
export type ParseNode = unknown;

/** SQL PostgreSQL's grammar rejects, or a rewrite that would not give the intended statement. */
export class SqlParseError extends Error {
  override name = 'SqlParseError';
}

/** The tree of the one statement in `sql`, with every `location` field removed (so trees compare by meaning). */
export function parseStatement(sql: string): ParseNode {
  let result: { stmts?: Array<{ stmt?: unknown }> };
  try {
    result = parseSync(sql) as typeof result;
  } catch (error) {
    throw new SqlParseError(`PostgreSQL's parser rejects ${JSON.stringify(sql)}: ${(error as Error).message}`);
  }
  if (result.stmts?.length !== 1)
    throw new SqlParseError(`expected one SQL statement, got ${result.stmts?.length ?? 0}: ${JSON.stringify(sql)}`);
  return withoutLocations(result.stmts[0]?.stmt);
}

/** One token of PostgreSQL's scanner; `start`/`end` are UTF-16 offsets into the scanned text. */
export interface SqlToken {
  text: string;
  start: number;
  end: number;
  /** 0 not a keyword, 1 unreserved, 2 column name, 3 type or function name, 4 reserved. */
  keywordKind: number;
}

/** PostgreSQL's scanner over `sql` (comments and whitespace are skipped). */
export function scanTokens(sql: string): SqlToken[] {
  const bytes = Buffer.from(sql, 'utf8');
  // The scanner counts bytes; callers slice JavaScript strings.
  const offset = (byte: number) => bytes.subarray(0, byte).toString('utf8').length;
  return scanSync(sql).tokens.map((token) => ({
    text: token.text,
    start: offset(token.start),
    end: offset(token.end),
    keywordKind: token.keywordKind,
  }));
}

/**
 * `name` as PostgreSQL's quote_ident() prints it (and so pg_get_indexdef / pg_get_constraintdef): bare when it
 * is lower-case letters, digits and `_` and not a keyword other than an unreserved one, else double-quoted.
 */
export function quoteIdentLikePostgres(name: string): string {
  const plain = /^[a-z_][a-z0-9_]*$/.test(name);
  if (!plain) return `"${name.replace(/"/g, '""')}"`;
  let kind = keywordKinds.get(name);
  if (kind === undefined) {
    kind = scanTokens(name)[0]?.keywordKind ?? 0;
    if (keywordKinds.size >= ANSWERS_KEPT) keywordKinds.clear();
    keywordKinds.set(name, kind);
  }
  return kind <= 1 ? name : `"${name}"`;
}

/** The column being rewritten: `column` of table `table` (a qualified reference names the table last; without a table, only bare references count). */
export interface ColumnRename {
  table?: string;
  column: string;
  newName: string;
}

/**
 * Rewrites one statement so that every place naming the column `rename.column` of `rename.table` names
 * `rename.newName` instead (written as PostgreSQL would quote it). A place is a column reference (bare, or
 * qualified with the table), an index column, or a column of a constraint's own column list (a foreign key's
 * local columns, never the referenced ones). Type names, function names, string constants and other tables'
 * columns are left alone. The rest of the text is kept byte for byte.
 *
 * The parser decides: each scanner token spelling the name is replaced by a probe and the statement parsed
 * again, which shows where that token lands in the tree. The result is parsed once more and must equal the
 * original tree with exactly those places renamed, and name the old column nowhere; else SqlParseError.
 */
export function renameColumn(sql: string, rename: ColumnRename): string {
  if (rename.newName === rename.column) {
    parseStatement(sql);
    return sql;
  }
  return spliceColumn(sql, rename, quoteIdentLikePostgres(rename.newName));
}

/**
 * Replaces every bare reference to `column` in the SQL expression `expression` (e.g. a user's `--up`) with the
 * expression `replacementSql` (e.g. `NEW."amount"`). Function names, types, strings and qualified names stay.
 * Throws SqlParseError unless `expression` is exactly one valid expression.
 */
export function replaceColumnInExpression(expression: string, column: string, replacementSql: string): string {
  const { sql, prefix } = wrapExpression(expression);
  const replaced = spliceColumn(sql, { column, newName: PROBE_COLUMN }, replacementSql);
  return replaced.slice(prefix.length, replaced.length - EXPRESSION_SUFFIX.length);
}

/** True when the SQL expression `expression` references the column `column` (bare). Throws SqlParseError when it is no expression. */
export function expressionNamesColumn(expression: string, column: string): boolean {
  return columnPlaces(parseStatement(wrapExpression(expression).sql), { column }).size > 0;
}

const EXPRESSION_PREFIX = 'SELECT (\n';
const EXPRESSION_SUFFIX = '\n)';
const PROBE_COLUMN = 'phasectl column \u0001';

/** `SELECT (<expression>)`, refused unless it is one expression and nothing else (no `a), (b`). */
function wrapExpression(expression: string): { sql: string; prefix: string } {
  const sql = `${EXPRESSION_PREFIX}${expression}${EXPRESSION_SUFFIX}`;
  const tree = parseStatement(sql) as { SelectStmt?: Record<string, unknown> };
  const select = tree.SelectStmt;
  const keys = select ? Object.keys(select).filter((key) => key !== 'limitOption' && key !== 'op') : [];
  if (!select || keys.length !== 1 || keys[0] !== 'targetList' || (select.targetList as unknown[]).length !== 1) {
    throw new SqlParseError(`not a single SQL expression: ${JSON.stringify(expression)}`);
  }
  return { sql, prefix: EXPRESSION_PREFIX };
}

/**
 * Replaces the tokens naming the column with `replacementSql`, after proving with the parser that naming
 * `rename.newName` there instead gives exactly the original tree with those places renamed and no place left
 * naming the old column.
 */
function spliceColumn(sql: string, rename: ColumnRename, replacementSql: string): string {
  const key = JSON.stringify([sql, rename.column, rename.newName, replacementSql]);
  const known = splicedTexts.get(key);
  if (known !== undefined) return known;
  const spliced = spliceColumnUncached(sql, rename, replacementSql);
  if (splicedTexts.size >= ANSWERS_KEPT) splicedTexts.clear();
  splicedTexts.set(key, spliced);
  return spliced;
}

function spliceColumnUncached(sql: string, rename: ColumnRename, replacementSql: string): string {
  const original = parseStatement(sql);
  const wanted = columnPlaces(original, rename);
  const tokens: SqlToken[] = [];
  for (const token of scanTokens(sql)) {
    if (denotedName(token) !== rename.column) continue;
    const place = probePlace(sql, token, original, rename.column);
    if (place !== undefined && wanted.has(place)) tokens.push(token);
  }
  const splice = (text: string) =>
    tokens.reduceRight((result, token) => result.slice(0, token.start) + text + result.slice(token.end), sql);
  const renamed = splice(quoteIdentLikePostgres(rename.newName));
  const expected = structuredClone(original);
  for (const place of wanted) setAt(expected, JSON.parse(place) as Array<string | number>, rename.newName);
  const actual = parseStatement(renamed);
  if (!isDeepStrictEqual(actual, expected) || columnPlaces(actual, rename).size > 0) {
    throw new SqlParseError(
      `could not rewrite ${JSON.stringify(sql)} from column ${rename.column} to ${rename.newName} (got ${JSON.stringify(renamed)})`,
    );
  }
  return splice(replacementSql);
}

/** True when the statement names column `column` of `table` anywhere renameColumn would rewrite it. */
export function namesColumn(sql: string, table: string, column: string): boolean {
  return columnPlaces(parseStatement(sql), { table, column }).size > 0;
}

/**
 * The first top-level (not parenthesized) token spelled `keyword` (case-insensitive, unquoted) at or after
 * UTF-16 offset `from`: e.g. `ON` and `USING` in `CREATE INDEX i ON t USING btree (c)`.
 */
export function findTopLevelKeyword(sql: string, keyword: string, from = 0): SqlToken | undefined {
  let depth = 0;
  for (const token of scanTokens(sql)) {
    if (token.text === '(') depth++;
    else if (token.text === ')') depth--;
    else if (depth === 0 && token.start >= from && token.text.toLowerCase() === keyword.toLowerCase()) return token;
  }
  return undefined;
}

/** The name a scanner token spells: quoted names exactly, bare words folded to lower case (ASCII only, as PostgreSQL does). */
function denotedName(token: SqlToken): string | undefined {
  if (token.text.startsWith('"')) return token.text.slice(1, -1).replace(/""/g, '"');
  if (/^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*$/.test(token.text))
    return token.text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return undefined;
}

const PROBE = 'phasectl probe \u0001';

/**
 * Where in the tree `token` lands: the token is replaced by a quoted probe name and the statement parsed again.
 * Undefined unless the new tree is the original one with exactly one name swapped for the probe (a keyword
 * like `user` or `timestamp` changes the tree's shape, or no longer parses, when quoted: it is no name).
 */
function probePlace(sql: string, token: SqlToken, original: ParseNode, column: string): string | undefined {
  const probed = `${sql.slice(0, token.start)}"${PROBE}"${sql.slice(token.end)}`;
  let tree: ParseNode;
  try {
    tree = parseStatement(probed);
  } catch {
    return undefined;
  }
  const places: string[] = [];
  const restored = mapStrings(tree, [], (value, path) => {
    if (value !== PROBE) return value;
    places.push(JSON.stringify(path));
    return column;
  });
  return places.length === 1 && isDeepStrictEqual(restored, original) ? places[0] : undefined;
}

/** Paths (JSON arrays of keys) of the strings in `tree` that name the column: see renameColumn. */
function columnPlaces(tree: ParseNode, rename: { table?: string; column: string }): Set<string> {
  const places = new Set<string>();
  const visit = (node: unknown, path: Array<string | number>): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => visit(item, [...path, index]));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Record<string, unknown>;
    const columnRef = record.ColumnRef as { fields?: unknown[] } | undefined;
    if (columnRef?.fields) {
      const names = columnRef.fields.map(stringValue);
      const last = names.length - 1;
      const qualifiedHere = last === 0 || (rename.table !== undefined && last <= 2 && names[last - 1] === rename.table);
      if (names[last] === rename.column && qualifiedHere)
        places.add(JSON.stringify([...path, 'ColumnRef', 'fields', last, 'String', 'sval']));
    }
    const indexElem = record.IndexElem as { name?: string } | undefined;
    if (indexElem?.name === rename.column) places.add(JSON.stringify([...path, 'IndexElem', 'name']));
    const constraint = record.Constraint as Record<string, unknown> | undefined;
    if (constraint) {
      // A constraint's own columns (fk_del_set_cols: ON DELETE SET NULL (col), PostgreSQL 15+); never pk_attrs, the
      // columns a foreign key references.
      for (const list of ['keys', 'including', 'fk_attrs', 'fk_del_set_cols']) {
        const items = constraint[list];
        if (!Array.isArray(items)) continue;
        items.forEach((item, index) => {
          if (stringValue(item) === rename.column)
            places.add(JSON.stringify([...path, 'Constraint', list, index, 'String', 'sval']));
        });
      }
    }
    for (const [key, value] of Object.entries(record)) visit(value, [...path, key]);
  };
  visit(tree, []);
  return places;
}

function stringValue(node: unknown): string | undefined {
  return (node as { String?: { sval?: string } } | null)?.String?.sval;
}

function withoutLocations(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLocations);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => key !== 'location')
      .map(([key, value]) => [key, withoutLocations(value)]),
  );
}

function mapStrings(
  node: unknown,
  path: Array<string | number>,
  map: (value: string, path: Array<string | number>) => string,
): unknown {
  if (typeof node === 'string') return map(node, path);
  if (Array.isArray(node)) return node.map((item, index) => mapStrings(item, [...path, index], map));
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, mapStrings(value, [...path, key], map)]));
}

function setAt(tree: unknown, path: Array<string | number>, value: string): void {
  let node = tree as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1] as string | number] = value;
}
