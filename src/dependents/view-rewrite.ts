/**
 * A view's query (as pg_get_viewdef printed it) re-pointed from one column of a table to another column of the
 * same table, with PostgreSQL's own parser. Pure.
 *
 * Every column reference that resolves to the column (bare, or through the table's name or alias, in every
 * clause, subquery and CTE) is renamed; references to same-named columns of other tables, subqueries and CTEs
 * stay. Where a select-list item took its output name from the column (`f.title`), it keeps it (`f.name AS
 * title`), so the view's columns keep their names, order and types. Shapes whose meaning could change are
 * refused (SqlParseError): a `USING`/`NATURAL` join or a join alias over the table, column aliases on the table,
 * a whole-row reference, a bare name that could belong to another relation.
 *
 * The edit is spliced into PostgreSQL's text, then proven: the result is parsed again and must be exactly the
 * original tree with those references renamed and those output names added.
 */
import { isDeepStrictEqual } from 'node:util';
import { parseSync } from 'libpg-query';
import { parseStatement, quoteIdentLikePostgres, scanTokens, SqlParseError, type SqlToken } from '../sql/parser.js';

/** The column a view is re-pointed from (`schema.table.column`) and the column it reads instead. */
export interface ViewColumnRename {
  schema: string;
  table: string;
  column: string;
  newName: string;
}

type Node = Record<string, unknown>;
type Path = Array<string | number>;

/** One relation of a FROM list, as column references can name it. */
interface RangeEntry {
  refname: string;
  /** The renamed table itself (not a subquery, CTE or other table). */
  target: boolean;
  /** Written with its schema and without an alias: `schema.table.column` reaches it. */
  schemaQualified: boolean;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/**
 * The view query `query` (one SELECT, e.g. pg_get_viewdef's text) re-pointed as described above, without the
 * trailing semicolon. Throws SqlParseError when the query cannot be re-pointed safely (the message says why).
 */
export function repointViewQuery(query: string, rename: ViewColumnRename): string {
  const sql = query.trim().replace(/;$/, '').trimEnd();
  const located = locatedTree(sql);
  const original = parseStatement(sql);
  // The text goes verbatim after `CREATE OR REPLACE VIEW … AS`: a query and nothing else.
  if (!(original as { SelectStmt?: unknown }).SelectStmt)
    throw new SqlParseError('the view definition is not a SELECT');
  const expected = structuredClone(original);
  const tokens = scanTokens(sql);
  const charOffset = byteToCharOffsets(sql);
  const edits: Edit[] = [];
  const unnamedTargets: Array<{ path: Path; node: Node }> = [];
  const bareLevels: Array<{ select: Node }> = [];
  const newName = quoteIdentLikePostgres(rename.newName);

  const renameReference = (columnRef: Node, path: Path): void => {
    const fields = columnRef.fields as unknown[];
    const start = charOffset(columnRef.location as number);
    const first = tokens.findIndex((token) => token.start === start);
    const token = first < 0 ? undefined : tokens[first + 2 * (fields.length - 1)];
    if (!token || denotedName(token) !== rename.column) {
      throw new SqlParseError(`could not find the reference to ${rename.column} at offset ${start} of the view`);
    }
    edits.push({ start: token.start, end: token.end, text: newName });
    setAt(expected, [...path, 'ColumnRef', 'fields', fields.length - 1, 'String', 'sval'], rename.newName);
  };

  const resolve = (columnRef: Node, path: Path, scopes: RangeEntry[][]): void => {
    const names = (columnRef.fields as unknown[]).map(
      (field) => (field as { String?: { sval?: string } }).String?.sval,
    );
    const star = (columnRef.fields as Node[]).some((field) => 'A_Star' in field);
    const last = names.length - 1;
    if (star) {
      const qualifier = names[last - 1];
      if (qualifier !== undefined && innermost(scopes, qualifier)?.target) {
        throw new SqlParseError(
          `the view reads whole rows of ${rename.table} (${qualifier}.*): their shape changes with the column`,
        );
      }
      return;
    }
    if (names[last] !== rename.column) return;
    if (names.length === 1) {
      for (const level of [...scopes].reverse()) {
        if (level.some((entry) => entry.target)) {
          bareLevels.push({ select: currentSelect! });
          renameReference(columnRef, path);
          return;
        }
        if (level.length > 0 && scopes.some((outer) => outer.some((entry) => entry.target))) {
          throw new SqlParseError(
            `the view names ${rename.column} without a table where it could belong to another relation`,
          );
        }
      }
      return;
    }
    const qualifier = names[last - 1]!;
    const entry = innermost(scopes, qualifier);
    if (!entry?.target) return;
    if (names.length >= 3 && !(entry.schemaQualified && names[last - 2] === rename.schema)) return;
    renameReference(columnRef, path);
  };

  let currentSelect: Node | undefined;

  const visit = (node: unknown, path: Path, scopes: RangeEntry[][]): void => {
    if (Array.isArray(node)) {
      node.forEach((item, index) => visit(item, [...path, index], scopes));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const record = node as Node;
    for (const [key, value] of Object.entries(record)) {
      if (key === 'SelectStmt') visitSelect(value as Node, [...path, key], scopes);
      else if (key === 'ColumnRef') resolve(value as Node, path, scopes);
      else visit(value, [...path, key], scopes);
    }
  };

  const visitSelect = (select: Node, path: Path, scopes: RangeEntry[][]): void => {
    if (select.withClause) visit(select.withClause, [...path, 'withClause'], scopes);
    if (select.op !== undefined && select.op !== 'SETOP_NONE') {
      visitSelect(select.larg as Node, [...path, 'larg'], scopes);
      visitSelect(select.rarg as Node, [...path, 'rarg'], scopes);
      // ORDER BY of a UNION names its output columns (kept by the AS added in each branch), never the table.
      for (const key of ['sortClause', 'limitOffset', 'limitCount'])
        if (select[key])
          visit(select[key], [...path, key], [...scopes, [{ refname: '', target: false, schemaQualified: false }]]);
      return;
    }
    const level = rangeEntries((select.fromClause as unknown[] | undefined) ?? [], rename);
    const inner = [...scopes, level];
    const outerSelect = currentSelect;
    for (const [key, value] of Object.entries(select)) {
      if (key === 'withClause') continue;
      currentSelect = select;
      visit(value, [...path, key], inner);
    }
    currentSelect = outerSelect;
    ((select.targetList as Node[] | undefined) ?? []).forEach((item, index) => {
      const target = item.ResTarget as Node | undefined;
      if (target && target.name === undefined)
        unnamedTargets.push({ path: [...path, 'targetList', index, 'ResTarget'], node: target });
    });
  };

  visit(located, [], []);

  // A bare reference renamed in a select that also outputs a column of the new name would then mean that output
  // column in ORDER BY / GROUP BY.
  for (const { select } of bareLevels) {
    const outputs = ((select.targetList as Node[] | undefined) ?? []).map(
      (item) => (item.ResTarget as Node | undefined)?.name ?? figureName((item.ResTarget as Node | undefined)?.val),
    );
    if (outputs.includes(rename.newName)) {
      throw new SqlParseError(
        `the view has an output column named ${rename.newName} beside a bare reference to ${rename.column}`,
      );
    }
  }
  for (const { path, node } of unnamedTargets) {
    const before = figureName(node.val);
    const after = figureName((getAt(expected, path) as Node).val);
    if (before === after || before === undefined) continue;
    const end = expressionEnd(tokens, charOffset(node.location as number), sql.length);
    edits.push({ start: end, end, text: ` AS ${quoteIdentLikePostgres(before)}` });
    (getAt(expected, path) as Node).name = before;
  }
  const result = edits
    .sort((a, b) => b.start - a.start)
    .reduce((text, edit) => text.slice(0, edit.start) + edit.text + text.slice(edit.end), sql);
  if (!isDeepStrictEqual(withoutOffsets(parseStatement(result)), withoutOffsets(expected))) {
    throw new SqlParseError(
      `could not re-point the view from ${rename.column} to ${rename.newName} (got ${JSON.stringify(result)})`,
    );
  }
  return result;
}

/** The relations a FROM list brings into scope; refuses the shapes where renaming the column could change a join. */
function rangeEntries(fromClause: unknown[], rename: ViewColumnRename): RangeEntry[] {
  const entries: RangeEntry[] = [];
  const add = (item: Node): void => {
    if (item.RangeVar) {
      const range = item.RangeVar as {
        schemaname?: string;
        relname: string;
        alias?: { aliasname: string; colnames?: unknown[] };
      };
      const target = range.relname === rename.table && range.schemaname === rename.schema;
      if (target && range.alias?.colnames)
        throw new SqlParseError(
          `the view renames the columns of ${rename.table} by position (${range.alias.aliasname}(…))`,
        );
      entries.push({
        refname: range.alias?.aliasname ?? range.relname,
        target,
        schemaQualified: range.alias === undefined && range.schemaname !== undefined,
      });
    } else if (item.JoinExpr) {
      const join = item.JoinExpr as Node & {
        usingClause?: unknown[];
        isNatural?: boolean;
        alias?: { aliasname: string };
      };
      const before = entries.length;
      add(join.larg as Node);
      add(join.rarg as Node);
      const joinsTarget = entries.slice(before).some((entry) => entry.target);
      if (joinsTarget && join.isNatural)
        throw new SqlParseError(`the view joins ${rename.table} with NATURAL JOIN: which columns join would change`);
      if (
        joinsTarget &&
        join.usingClause?.some((name) => (name as { String?: { sval?: string } }).String?.sval === rename.column)
      ) {
        throw new SqlParseError(`the view joins ${rename.table} USING (${rename.column})`);
      }
      if (joinsTarget && join.alias)
        throw new SqlParseError(`the view names a join over ${rename.table} (${join.alias.aliasname})`);
      if (join.alias) entries.push({ refname: join.alias.aliasname, target: false, schemaQualified: false });
    } else if (item.RangeTableSample) {
      add((item.RangeTableSample as Node).relation as Node);
    } else {
      const alias = (Object.values(item)[0] as { alias?: { aliasname: string } } | undefined)?.alias;
      entries.push({ refname: alias?.aliasname ?? '', target: false, schemaQualified: false });
    }
  };
  for (const item of fromClause) add(item as Node);
  return entries;
}

/** The innermost relation in scope called `refname`. */
function innermost(scopes: RangeEntry[][], refname: string): RangeEntry | undefined {
  for (const level of [...scopes].reverse()) {
    const found = level.find((entry) => entry.refname === refname);
    if (found) return found;
  }
  return undefined;
}

/**
 * The output name PostgreSQL gives an unnamed select-list item, where a column reference decides it (FigureColname):
 * the column's name, through casts, COLLATE and subscripts. Undefined where the column plays no part.
 */
function figureName(node: unknown): string | undefined {
  const record = node as Node | undefined;
  if (!record) return undefined;
  if (record.ColumnRef) {
    const fields = (record.ColumnRef as { fields: Array<{ String?: { sval: string } }> }).fields;
    return fields[fields.length - 1]?.String?.sval;
  }
  if (record.TypeCast) return figureName((record.TypeCast as Node).arg);
  if (record.CollateClause) return figureName((record.CollateClause as Node).arg);
  if (record.A_Indirection) {
    const indirection = record.A_Indirection as { arg: unknown; indirection: Array<{ String?: { sval: string } }> };
    const lastField = indirection.indirection[indirection.indirection.length - 1];
    return lastField?.String ? lastField.String.sval : figureName(indirection.arg);
  }
  return undefined;
}

const ENDS_ITEM = new Set([
  'from',
  'where',
  'group',
  'having',
  'window',
  'order',
  'limit',
  'offset',
  'fetch',
  'union',
  'intersect',
  'except',
  'into',
  'for',
]);

/** Where the select-list item starting at `start` ends: before the `,` or clause keyword that follows it at its depth. */
function expressionEnd(tokens: SqlToken[], start: number, length: number): number {
  let depth = 0;
  let end = length;
  let previous: SqlToken | undefined;
  for (const token of tokens) {
    if (token.start < start) continue;
    const word = token.text.toLowerCase();
    if (word === '(' || word === '[') depth++;
    else if (word === ')' || word === ']') depth--;
    const ends =
      depth < 0 ||
      (depth === 0 &&
        (word === ',' ||
          word === ';' ||
          (ENDS_ITEM.has(word) && !(word === 'from' && previous?.text.toLowerCase() === 'distinct'))));
    if (ends) return previous?.end ?? start;
    previous = token;
    end = token.end;
  }
  return end;
}

/** The tree with `location` fields (byte offsets), for finding the text of a node. */
function locatedTree(sql: string): unknown {
  try {
    return (parseSync(sql) as { stmts: Array<{ stmt: unknown }> }).stmts[0]?.stmt;
  } catch (error) {
    throw new SqlParseError(`PostgreSQL's parser rejects the view: ${(error as Error).message}`);
  }
}

function byteToCharOffsets(sql: string): (byte: number) => number {
  const bytes = Buffer.from(sql, 'utf8');
  return (byte) => bytes.subarray(0, byte).toString('utf8').length;
}

/** The name a scanner token spells (quoted exactly, bare folded to lower case). */
function denotedName(token: SqlToken): string | undefined {
  if (token.text.startsWith('"')) return token.text.slice(1, -1).replace(/""/g, '"');
  if (/^[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*$/.test(token.text))
    return token.text.replace(/[A-Z]/g, (c) => c.toLowerCase());
  return undefined;
}

function getAt(tree: unknown, path: Path): unknown {
  let node = tree as Record<string | number, unknown>;
  for (const key of path) node = node[key] as Record<string | number, unknown>;
  return node;
}

function setAt(tree: unknown, path: Path, value: string): void {
  const parent = getAt(tree, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path[path.length - 1] as string | number] = value;
}

/** PostgreSQL 18's other parse locations (ARRAY[…] and IN (…) list bounds): offsets, not meaning. */
const OFFSET_KEYS = new Set(['list_start', 'list_end', 'rexpr_list_start', 'rexpr_list_end']);

function withoutOffsets(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutOffsets);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key]) => !OFFSET_KEYS.has(key))
      .map(([key, value]) => [key, withoutOffsets(value)]),
  );
}
