/**
 * Statements in a function body that map the table's columns by position. Phase 1 adds the new column last and
 * phase 3 drops the old one (a move only drops it), so the table's column order changes; PostgreSQL re-reads a
 * function's text at its first call in each session, so after phase 3 such a statement pairs values with other
 * columns: silently when the types line up (a text value lands in the next text column), else with an error.
 * Tried on PostgreSQL 15 with `ALTER TABLE … ADD COLUMN` / `DROP COLUMN`, each call in a new session:
 *
 * - `INSERT INTO t VALUES (…)` / `INSERT INTO t SELECT …` without a column list, whose values reach the old column's
 *   position: after phase 3 they land one column to the left (a rename whose column is the table's last is
 *   unchanged: the new column takes its place; values that stop before it are unchanged).
 * - the whole row of t written positionally elsewhere: `INSERT INTO other SELECT * FROM t`, `INSERT INTO audit
 *   VALUES (OLD.*)` in a trigger on t, the same through a CTE, a subquery or a join (`WITH moved AS (DELETE FROM t
 *   … RETURNING *) INSERT INTO archive SELECT * FROM moved`), `SELECT * INTO a, b, c FROM t` (a list of variables, or a variable of
 *   another row type), `FOR a, b IN SELECT * FROM t`. From phase 1 on the row has one more value: an INSERT into
 *   another table fails with "more expressions than target columns", or fills the other table's next column with
 *   it (marked `wholeRow`: phase 1 refuses); variables drop the extra value (PL/pgSQL). After phase 3 the values
 *   are shifted.
 * - a variable of t's row type filled from an explicit list (`SELECT 1, 'x', 'y' INTO r`): shifted like an INSERT.
 *
 * Unchanged (the row type follows the table): `SELECT * INTO r FROM t` into a `record` or a `t` variable,
 * `RETURNS SETOF t … SELECT * FROM t`, `INSERT INTO t SELECT * FROM t`, `INSERT INTO t VALUES (r.*)` with r a row
 * of t. Views, rules and SQL-standard bodies (`BEGIN ATOMIC`) are stored parsed: PostgreSQL records their
 * dependency on the column (plan and phase 3 see them elsewhere). Not detected here: `RETURN QUERY SELECT * FROM t`
 * in a function declared to return other columns, `ROW(…)::t`, dynamic SQL, and application SQL. Pure.
 */
import { parseSync } from 'libpg-query';
import { lineAt, namesRowType, plpgsqlTree, type BodyFacts, type ColumnOfTable } from './function-body.js';

/** Where the column sits in its table at plan. */
export interface ColumnLayout {
  /** 1-based position among the table's live columns. */
  position: number;
  /** The table's live columns. */
  columns: number;
  /** True for a move's source (the column goes, nothing takes its place); false for a rename (the new column goes last). */
  removed: boolean;
}

/** One statement that maps the table's columns by position. */
export interface PositionalUse {
  /** 1 = the first line of the function's source. */
  line: number;
  /** The statement, on one line (shortened). */
  statement: string;
  /**
   * It writes the whole row of the table into another table by position (`INSERT INTO audit VALUES (OLD.*)`,
   * `INSERT INTO archive SELECT * FROM t`): broken from the moment the table gains a column (phase 1), not only
   * when phase 3 reorders it.
   */
  wholeRow: boolean;
}

/** The statements of the body that pair the table's columns with values by position, in the body's order. */
export function positionalUses(body: BodyFacts, target: ColumnOfTable, layout: ColumnLayout): PositionalUse[] {
  try {
    if (body.language === 'sql') return sqlUses(body.source, target, layout, body.rowArguments ?? []);
    if (body.language === 'plpgsql') return plpgsqlUses(body, target, layout);
  } catch {
    // A body the parser cannot read: nothing certain to say (its mentions of the column are judged elsewhere).
  }
  return [];
}

function sqlUses(
  source: string,
  target: ColumnOfTable,
  layout: ColumnLayout,
  records: readonly string[],
): PositionalUse[] {
  const parsed = parseSync(source) as { stmts?: Array<{ stmt?: unknown; stmt_location?: number; stmt_len?: number }> };
  const uses: PositionalUse[] = [];
  const bytes = Buffer.from(source, 'utf8');
  for (const statement of parsed.stmts ?? []) {
    const kind = statementMapsByPosition(statement.stmt, target, layout, records);
    if (kind === undefined) continue;
    const start = statement.stmt_location ?? 0;
    const end = statement.stmt_len ? start + statement.stmt_len : bytes.length;
    uses.push({
      line: lineAt(source, start),
      statement: oneLine(bytes.subarray(start, end).toString('utf8')),
      wholeRow: kind === 'wholeRow',
    });
  }
  return uses;
}

function plpgsqlUses(body: BodyFacts, target: ColumnOfTable, layout: ColumnLayout): PositionalUse[] {
  const { parsed, records } = plpgsqlTree(body, target);
  const datums =
    (parsed as { plpgsql_funcs?: Array<{ PLpgSQL_function?: { datums?: unknown[] } }> }).plpgsql_funcs?.[0]
      ?.PLpgSQL_function?.datums ?? [];
  const uses: PositionalUse[] = [];
  const visit = (node: unknown, line: number): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item, line);
      return;
    }
    const record = node as Record<string, unknown>;
    const here = typeof record.lineno === 'number' && record.lineno > 0 ? record.lineno : line;
    // `SELECT … INTO target …` and `FOR target IN SELECT …`: the query's columns go into the target by position.
    const execsql = record.PLpgSQL_stmt_execsql as { sqlstmt?: unknown; into?: boolean; target?: unknown } | undefined;
    const fors = record.PLpgSQL_stmt_fors as { query?: unknown; var?: unknown } | undefined;
    const into = execsql?.into
      ? { query: execsql.sqlstmt, target: execsql.target }
      : fors && { query: fors.query, target: fors.var };
    const query = (into?.query as { PLpgSQL_expr?: { query?: string } } | undefined)?.PLpgSQL_expr?.query;
    if (into && query !== undefined && intoMapsByPosition(query, into.target, datums, target, layout, records)) {
      const inner = (execsql ?? fors) as { lineno?: number };
      // Extra values of a grown row are dropped by PL/pgSQL here (checked on PostgreSQL 15): only phase 3 shifts them.
      uses.push({
        line: inner.lineno && inner.lineno > 0 ? inner.lineno : here,
        statement: oneLine(query),
        wholeRow: false,
      });
      return;
    }
    const expression = record.PLpgSQL_expr as { query?: string; parseMode?: number } | undefined;
    if (expression?.query !== undefined && (expression.parseMode ?? 0) === 0) {
      const statements = (parseSync(expression.query) as { stmts?: Array<{ stmt?: unknown }> }).stmts ?? [];
      const kinds = statements.map((statement) => statementMapsByPosition(statement.stmt, target, layout, records));
      if (kinds.some((kind) => kind !== undefined))
        uses.push({ line: here, statement: oneLine(expression.query), wholeRow: kinds.includes('wholeRow') });
      return;
    }
    for (const value of Object.values(record)) visit(value, here);
  };
  visit(parsed, 1);
  return uses;
}

/**
 * An INSERT without a column list (at any depth: a CTE, a rule-like wrapper; a MERGE's INSERT too) that either writes the table with values
 * reaching the old column's position (`shift`), or writes another table with the whole row of this one (`wholeRow`,
 * which wins when a statement does both). Undefined: neither.
 */
function statementMapsByPosition(
  tree: unknown,
  target: ColumnOfTable,
  layout: ColumnLayout,
  records: readonly string[],
): 'shift' | 'wholeRow' | undefined {
  let hit: 'shift' | 'wholeRow' | undefined;
  const visit = (node: unknown): void => {
    if (hit === 'wholeRow' || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    const record = node as Record<string, unknown>;
    const insert = record.InsertStmt as
      { relation?: RangeVar; cols?: unknown[]; selectStmt?: unknown; withClause?: WithClause } | undefined;
    if (insert && !insert.cols?.length && insert.selectStmt !== undefined) {
      const items = selectItems(insert.selectStmt, target, records, insert.withClause?.ctes ?? []);
      if (items && !isTable(insert.relation, target) && carriesRow(items)) {
        hit = 'wholeRow';
        return;
      }
      if (items && isTable(insert.relation, target) && reachesColumn(items, layout)) hit = 'shift';
    }
    // MERGE … WHEN NOT MATCHED THEN INSERT VALUES (…) without a column list: the same pairing by position.
    const merge = record.MergeStmt as
      | { relation?: RangeVar; sourceRelation?: unknown; withClause?: WithClause; mergeWhenClauses?: unknown[] }
      | undefined;
    if (merge) {
      const source = [merge.sourceRelation];
      const from = fromTables(source);
      const carriers = rowCarriers(source, target, records, merge.withClause?.ctes ?? []);
      for (const clause of merge.mergeWhenClauses ?? []) {
        const when = (
          clause as { MergeWhenClause?: { commandType?: string; targetList?: unknown[]; values?: unknown[] } }
        ).MergeWhenClause;
        if (when?.commandType !== 'CMD_INSERT' || when.targetList?.length || !when.values?.length) continue;
        const items = when.values.map((value) => itemKind(value, from, carriers, target, records));
        if (!isTable(merge.relation, target) && carriesRow(items)) {
          hit = 'wholeRow';
          return;
        }
        if (isTable(merge.relation, target) && reachesColumn(items, layout)) hit = 'shift';
      }
    }
    for (const value of Object.values(record)) visit(value);
  };
  visit(tree);
  return hit;
}

/** `SELECT … INTO target` / `FOR target IN SELECT …` (PL/pgSQL): the target is filled by position. */
function intoMapsByPosition(
  query: string,
  into: unknown,
  datums: readonly unknown[],
  target: ColumnOfTable,
  layout: ColumnLayout,
  records: readonly string[],
): boolean {
  const statements = (parseSync(query) as { stmts?: Array<{ stmt?: Record<string, unknown> }> }).stmts ?? [];
  const select = statements.length === 1 ? statements[0]?.stmt : undefined;
  if (!select?.SelectStmt) return false;
  const items = selectItems(select, target, records);
  if (!items) return false;
  const row = (into as { PLpgSQL_row?: { fields?: Array<{ varno?: number }> } }).PLpgSQL_row;
  // One variable: its declared type decides (`r users%ROWTYPE` is a variable holding a row, `r users` a record).
  const single = row?.fields?.length === 1 ? datums[row.fields[0]?.varno ?? -1] : into;
  const type = typeOf(single);
  // A list of variables (`INTO a, b, c`): the whole row of the table lands in them by position.
  if (row && row.fields?.length !== 1) return carriesRow(items);
  // One plain variable (`INTO n`), a record: the first column, the row as it comes.
  if (type === undefined || /^record$/i.test(type)) return false;
  if ((single as { PLpgSQL_var?: unknown }).PLpgSQL_var && !/%rowtype$/i.test(type)) return false;
  // A variable of the table's row type: filled by position unless the query gives exactly a row of the table.
  if (namesRowType(type, target)) return reachesColumn(items, layout);
  // A variable of another row type: the whole row of the table lands in its fields by position.
  return carriesRow(items);
}

function typeOf(datum: unknown): string | undefined {
  const node = datum as Record<string, { datatype?: { PLpgSQL_type?: { typname?: string } } } | undefined>;
  return (node?.PLpgSQL_var ?? node?.PLpgSQL_rec)?.datatype?.PLpgSQL_type?.typname;
}

interface RangeVar {
  relname?: string;
  schemaname?: string;
  alias?: { aliasname?: string };
}

function isTable(range: RangeVar | undefined, target: ColumnOfTable): boolean {
  return range?.relname === target.table && (range.schemaname === undefined || range.schemaname === target.schema);
}

/**
 * The values a SELECT or VALUES gives, in order: `row` (the whole row of the table: `*` over it alone, `t.*`,
 * `NEW.*` of a trigger on it, `(r).*` of a row of it), `grows` (an expansion that holds the whole row of the table
 * among other values, so it has one value more once the table gains a column: `*` over a join with the table, `*` or
 * `s.*` of a subquery or CTE that gives its whole row, as `WITH moved AS (DELETE FROM t … RETURNING *)`), `star` (an
 * expansion of something else, count unknown), `value` (one column). Undefined for a shape this does not follow (a
 * set operation is read by its first branch). `ctes`: the WITH of the enclosing statements.
 */
function selectItems(
  node: unknown,
  target: ColumnOfTable,
  records: readonly string[],
  ctes: readonly unknown[] = [],
): ItemKind[] | undefined {
  let select = (node as { SelectStmt?: SelectNode } | undefined)?.SelectStmt;
  while (select?.larg) select = select.larg;
  if (!select) return undefined;
  const visible = [...(select.withClause?.ctes ?? []), ...ctes];
  if (select.valuesLists?.length) {
    const first = (select.valuesLists[0] as { List?: { items?: unknown[] } }).List?.items ?? [];
    return first.map((item) => itemKind(item, [], [], target, records));
  }
  const from = fromTables(select.fromClause ?? []);
  const carriers = rowCarriers(select.fromClause ?? [], target, records, visible);
  return (select.targetList ?? []).map((item) =>
    itemKind((item as { ResTarget?: { val?: unknown } }).ResTarget?.val, from, carriers, target, records),
  );
}

type ItemKind = 'row' | 'grows' | 'star' | 'value';

/** Values holding the whole row of the table: another table written with them by position breaks at phase 1. */
function carriesRow(items: readonly ItemKind[]): boolean {
  return items.includes('row') || items.includes('grows');
}

interface SelectNode {
  larg?: SelectNode;
  valuesLists?: unknown[];
  targetList?: unknown[];
  fromClause?: unknown[];
  withClause?: WithClause;
}

interface WithClause {
  ctes?: unknown[];
}

/**
 * The names (alias, else the CTE's name) of the FROM items other than the table that give its whole row: a subquery
 * whose values hold it, a reference to a CTE of `ctes` that does (a SELECT, or an INSERT, UPDATE or DELETE of the
 * table with `RETURNING *`). Joins flattened.
 */
function rowCarriers(
  items: readonly unknown[],
  target: ColumnOfTable,
  records: readonly string[],
  ctes: readonly unknown[],
): string[] {
  return items.flatMap((item): string[] => {
    const node = item as {
      RangeVar?: RangeVar;
      JoinExpr?: { larg?: unknown; rarg?: unknown };
      RangeSubselect?: { subquery?: unknown; alias?: { aliasname?: string } };
    };
    if (node.JoinExpr) return rowCarriers([node.JoinExpr.larg, node.JoinExpr.rarg], target, records, ctes);
    if (node.RangeSubselect) {
      const inner = selectItems(node.RangeSubselect.subquery, target, records, ctes);
      const alias = node.RangeSubselect.alias?.aliasname;
      return inner && carriesRow(inner) && alias !== undefined ? [alias] : [];
    }
    const range = node.RangeVar;
    if (!range || range.schemaname !== undefined || isTable(range, target)) return [];
    const cte = ctes
      .map((entry) => (entry as { CommonTableExpr?: { ctename?: string; ctequery?: unknown } }).CommonTableExpr)
      .find((entry) => entry?.ctename === range.relname);
    return cte && queryCarriesRow(cte.ctequery, target, records, ctes)
      ? [range.alias?.aliasname ?? range.relname!]
      : [];
  });
}

/** A CTE's query that gives the whole row of the table: a SELECT that does, or DML of the table RETURNING it. */
function queryCarriesRow(
  query: unknown,
  target: ColumnOfTable,
  records: readonly string[],
  ctes: readonly unknown[],
): boolean {
  const node = query as Record<
    string,
    { relation?: RangeVar; returningList?: unknown[]; returningClause?: { exprs?: unknown[] } } | undefined
  >;
  const dml = node.DeleteStmt ?? node.UpdateStmt ?? node.InsertStmt;
  if (dml) {
    if (!isTable(dml.relation, target)) return false;
    const alias = dml.relation?.alias?.aliasname ?? target.table;
    // The parser's tree names the list `returningClause.exprs` (libpg-query's PostgreSQL 18), `returningList` before.
    return (dml.returningClause?.exprs ?? dml.returningList ?? []).some((item) => {
      const fields = (item as { ResTarget?: { val?: { ColumnRef?: { fields?: unknown[] } } } }).ResTarget?.val
        ?.ColumnRef?.fields;
      return (
        fields !== undefined &&
        isStar(fields.at(-1)) &&
        (fields.length === 1 || (fields.length === 2 && stringOf(fields[0]) === alias))
      );
    });
  }
  const items = selectItems(query, target, records, ctes);
  return items !== undefined && carriesRow(items);
}

function itemKind(
  value: unknown,
  from: Array<RangeVar | undefined>,
  carriers: readonly string[],
  target: ColumnOfTable,
  records: readonly string[],
): ItemKind {
  const node = value as {
    ColumnRef?: { fields?: unknown[] };
    A_Indirection?: { arg?: Record<string, unknown>; indirection?: unknown[] };
  };
  const fields = node?.ColumnRef?.fields;
  if (fields && isStar(fields.at(-1))) {
    if (fields.length === 1) {
      // `*`: every FROM item; the table's row exactly when it is the only one.
      if (from.length === 1 && isTable(from[0], target)) return 'row';
      // The table among other FROM items, or an item that gives its row: its columns are among the values.
      if (carriers.length > 0 || from.some((range) => isTable(range, target))) return 'grows';
      return 'star';
    }
    const qualifier = stringOf(fields.at(-2));
    const aliases = from
      .filter((range) => isTable(range, target))
      .map((range) => range?.alias?.aliasname ?? target.table);
    if (
      qualifier !== undefined &&
      (aliases.includes(qualifier) || (fields.length === 2 && records.includes(qualifier)))
    )
      return 'row';
    if (qualifier !== undefined && fields.length === 2 && carriers.includes(qualifier)) return 'grows';
    return 'star';
  }
  const indirection = node?.A_Indirection;
  if (indirection?.arg && isStar(indirection.indirection?.at(-1))) {
    const param = (indirection.arg.ParamRef as { number?: number } | undefined)?.number;
    const single = (indirection.arg.ColumnRef as { fields?: unknown[] } | undefined)?.fields;
    const name = param !== undefined ? `$${param}` : single?.length === 1 ? stringOf(single[0]) : undefined;
    if (name === undefined || indirection.indirection?.length !== 1) return 'star';
    // `(r).*` of a row of the table, `(t).*` of the table in FROM (by its alias).
    const aliases = from
      .filter((range) => isTable(range, target))
      .map((range) => range?.alias?.aliasname ?? target.table);
    if (records.includes(name) || (param === undefined && aliases.includes(name))) return 'row';
    return param === undefined && carriers.includes(name) ? 'grows' : 'star';
  }
  return 'value';
}

/** The relations of a FROM list, joins flattened (a subquery or function counts as an item that is not the table). */
function fromTables(items: readonly unknown[]): Array<RangeVar | undefined> {
  return items.flatMap((item) => {
    const node = item as { RangeVar?: RangeVar; JoinExpr?: { larg?: unknown; rarg?: unknown } };
    if (node.RangeVar) return [node.RangeVar];
    if (node.JoinExpr) return fromTables([node.JoinExpr.larg, node.JoinExpr.rarg]);
    return [undefined];
  });
}

/**
 * Whether values given by position to the table (or to its row type) land elsewhere after phase 3: exactly the
 * table's own row is fine; a row of it among other values, or an expansion of unknown width, is not; plain values
 * are when they reach the old column's position, unless it is a rename of the table's last column.
 */
function reachesColumn(items: readonly ItemKind[], layout: ColumnLayout): boolean {
  if (items.length === 1 && items[0] === 'row') return false;
  if (!layout.removed && layout.position >= layout.columns) return false;
  if (items.some((item) => item !== 'value')) return true;
  return items.length >= layout.position;
}

function isStar(node: unknown): boolean {
  return (node as { A_Star?: unknown } | undefined)?.A_Star !== undefined;
}

function stringOf(node: unknown): string | undefined {
  return (node as { String?: { sval?: string } } | undefined)?.String?.sval;
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}…` : flat;
}
