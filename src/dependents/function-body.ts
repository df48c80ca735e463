/**
 * Does a function body name a column of a table? Read with PostgreSQL's own parsers (libpg-query: SQL, and
 * PL/pgSQL whose embedded queries and expressions are then parsed as SQL), so comments are not hits and a
 * same-named column of another table is not one where the parser can tell. Errs towards a hit: a string
 * constant holding the name (dynamic SQL: EXECUTE, format(), `||`) counts, an unqualified name counts in a
 * statement that reads the table, and a body the parsers cannot read falls back to a text search. Pure.
 */
import { parsePlPgSQLSync, parseSync } from 'libpg-query';
import { truncatedTail } from '../operations/column-mention.js';
import { scanTokens } from '../sql/parser.js'; // importing it loads the WebAssembly module (top-level await)

export interface ColumnOfTable {
  schema: string;
  table: string;
  column: string;
}

interface RangeVarNode {
  relname?: string;
  schemaname?: string;
  alias?: { aliasname?: string };
}

export interface BodyFacts {
  language: string;
  source: string;
  returnsTrigger: boolean;
  /** NEW/OLD of this trigger function may be rows of the table (used on it, or on no table yet). */
  recordsMayBeTable: boolean;
  /**
   * The function's arguments whose type is the table's row type: their names (as PostgreSQL folds them) and `$n`
   * (n counting the input arguments). `x.job_title`, `(x).job_title` and `($1).job_title` read the column.
   */
  rowArguments?: readonly string[];
}

/** Where the body names the column: the line of the first mention (1 = first line of the source), or undefined. */
export function bodyNamesColumn(body: BodyFacts, target: ColumnOfTable): { line: number } | undefined {
  try {
    if (body.language === 'sql') return sqlBodyMention(body.source, target, body.rowArguments ?? []);
    if (body.language === 'plpgsql') return plpgsqlMention(body, target);
  } catch {
    // Unreadable for the parser: the text decides.
  }
  return textMention(body.source, target.column);
}

function sqlBodyMention(
  source: string,
  target: ColumnOfTable,
  rowArguments: readonly string[],
): { line: number } | undefined {
  const statements = (parseSync(source) as { stmts?: Array<{ stmt?: unknown; stmt_location?: number }> }).stmts ?? [];
  for (const statement of statements) {
    if (statementNamesColumn(statement.stmt, target, rowArguments))
      return { line: lineAt(source, statement.stmt_location ?? 0) };
  }
  return undefined;
}

function plpgsqlMention(body: BodyFacts, target: ColumnOfTable): { line: number } | undefined {
  const { parsed, records } = plpgsqlTree(body, target);
  let found: { line: number } | undefined;
  const visit = (node: unknown, line: number): void => {
    if (found || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item, line);
      return;
    }
    const record = node as Record<string, unknown>;
    const here = typeof record.lineno === 'number' && record.lineno > 0 ? record.lineno : line;
    const expression = record.PLpgSQL_expr as { query?: string; parseMode?: number } | undefined;
    if (
      expression?.query !== undefined &&
      expressionNamesColumn(expression.query, expression.parseMode ?? 0, target, records)
    ) {
      found = { line: here };
      return;
    }
    const type = record.PLpgSQL_type as { typname?: string } | undefined;
    // `x users.job_title%TYPE`: the declaration stops compiling once the column is gone.
    if (type?.typname && /%type$/i.test(type.typname) && typeNamesColumn(type.typname, target.column)) {
      found = { line: here };
      return;
    }
    for (const value of Object.values(record)) visit(value, here);
  };
  visit(parsed, 1);
  return found;
}

/**
 * A PL/pgSQL body parsed (libpg-query's JSON of the compiled function), with the names that hold a row of the table:
 * NEW/OLD of a trigger that may fire on it, arguments of its row type, variables of its row type (or records filled
 * from it). Throws when the parser cannot read the body.
 */
export function plpgsqlTree(body: BodyFacts, target: ColumnOfTable): { parsed: unknown; records: string[] } {
  const tag = dollarTag(body.source);
  // PL/pgSQL checks RETURN against the declared result (a value, none, NEXT/QUERY): try the shapes in turn.
  const results = body.returnsTrigger
    ? ['RETURNS trigger']
    : ['RETURNS record', 'RETURNS void', 'RETURNS SETOF record'];
  const parsed = firstParse(
    results.map(
      (result) => `CREATE FUNCTION phasectl_probe() ${result} LANGUAGE plpgsql AS ${tag}${body.source}${tag}`,
    ),
  );
  const records = [
    ...(body.returnsTrigger && body.recordsMayBeTable ? ['new', 'old'] : []),
    ...(body.rowArguments ?? []),
    ...rowVariables(parsed, target),
  ];
  return { parsed, records };
}

/**
 * The PL/pgSQL variables that may hold a row of the table: declared with its row type (`r users%ROWTYPE`,
 * `r public.users`), or `record` in a body whose SQL reads the table (`SELECT * INTO r FROM users`, `FOR r IN
 * SELECT … FROM users`). `r.job_title` then reads the column, and fails once phase 3 has dropped it.
 */
export function rowVariables(parsed: unknown, target: ColumnOfTable): string[] {
  const declared: Array<{ name: string; type: string }> = [];
  const queries: string[] = [];
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    const record = node as Record<string, unknown>;
    for (const kind of ['PLpgSQL_var', 'PLpgSQL_rec'] as const) {
      const datum = record[kind] as
        { refname?: string; datatype?: { PLpgSQL_type?: { typname?: string } } } | undefined;
      const type = datum?.datatype?.PLpgSQL_type?.typname;
      if (datum?.refname !== undefined && type !== undefined) declared.push({ name: datum.refname, type });
    }
    const expression = record.PLpgSQL_expr as { query?: string } | undefined;
    if (expression?.query !== undefined) queries.push(expression.query);
    for (const value of Object.values(record)) visit(value);
  };
  visit(parsed);
  let bodyReadsTable: boolean | undefined;
  const readsTable = (): boolean =>
    (bodyReadsTable ??= queries.some((query) => {
      try {
        return statementReadsTable(parseSync(query), target);
      } catch {
        return textMention(query, target.table) !== undefined;
      }
    }));
  return declared
    .filter(({ type }) => (/^record$/i.test(type) ? readsTable() : namesRowType(type, target)))
    .map(({ name }) => name); // as the parser folded it: `R` is `r`, `"R"` and `Ärger` stay as written
}

/**
 * `users`, `public.users`, `"Users"`, each optionally followed by `%ROWTYPE`: the row type of the table. The parser
 * gives a `%ROWTYPE` as the names it read, folded, unquoted and joined by dots (`"Users"%ROWTYPE` is `Users%rowtype`,
 * `"a.b".c%ROWTYPE` is `a.b.c%rowtype`), any other type as written.
 */
export function namesRowType(type: string, target: ColumnOfTable): boolean {
  if (/%rowtype$/i.test(type)) {
    const name = type.replace(/%rowtype$/i, '');
    return name === target.table || name === `${target.schema}.${target.table}`;
  }
  const parts = type.split(/\.(?=(?:[^"]*"[^"]*")*[^"]*$)/).map((part) => unquote(part.trim()));
  if (parts.length === 1) return parts[0] === target.table;
  return parts.length === 2 && parts[0] === target.schema && parts[1] === target.table;
}

/**
 * `x users.job_title%TYPE` names the column (of any table: errs towards a hit). The parser gives the names it read,
 * folded, unquoted and joined by dots (`"Users"."Job"%TYPE` is `Users.Job%TYPE`).
 */
function typeNamesColumn(typname: string, column: string): boolean {
  const name = typname.replace(/%type$/i, '');
  return name.endsWith(`.${column}`) || textMention(name, column) !== undefined;
}

function statementReadsTable(tree: unknown, target: ColumnOfTable): boolean {
  if (tree === null || typeof tree !== 'object') return false;
  if (Array.isArray(tree)) return tree.some((item) => statementReadsTable(item, target));
  const record = tree as Record<string, unknown>;
  for (const range of [record.RangeVar, record.relation] as Array<RangeVarNode | undefined>) {
    if (range?.relname === target.table && (range.schemaname === undefined || range.schemaname === target.schema))
      return true;
  }
  return Object.values(record).some((value) => statementReadsTable(value, target));
}

export function firstParse(statements: string[]): unknown {
  let failure: unknown;
  for (const statement of statements) {
    try {
      return parsePlPgSQLSync(statement) as unknown;
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

/** One PL/pgSQL expression or statement (parseMode 0: a statement, 2: an expression, 3–5: an assignment). */
function expressionNamesColumn(query: string, parseMode: number, target: ColumnOfTable, records: string[]): boolean {
  if (parseMode === 0) return statementsName(query, target, records);
  if (parseMode >= 3) {
    const tokens = scanTokens(query);
    const operator = tokens.findIndex((token) => token.text === ':=' || token.text === '=');
    if (operator > 0) {
      const assigned = tokens
        .slice(0, operator)
        .filter((token) => token.text !== '.')
        .map((token) => unquote(token.text));
      if (assigned.length > 1 && assigned.at(-1) === target.column && records.includes(assigned.at(-2)!)) return true;
      return statementsName(`SELECT ${query.slice(tokens[operator]!.end)}`, target, records);
    }
  }
  return statementsName(`SELECT ${query}`, target, records);
}

function statementsName(sql: string, target: ColumnOfTable, records: string[]): boolean {
  const statements = (parseSync(sql) as { stmts?: Array<{ stmt?: unknown }> }).stmts ?? [];
  return statements.some((statement) => statementNamesColumn(statement.stmt, target, records));
}

/**
 * True when the statement names the column: a reference qualified with the table (or one of its aliases, or
 * NEW/OLD of a trigger on it), an unqualified reference in a statement that reads or writes the table, a target
 * column of an INSERT/UPDATE of the table, or a string constant that holds the name (dynamic SQL).
 */
export function statementNamesColumn(tree: unknown, target: ColumnOfTable, records: readonly string[]): boolean {
  const aliases = new Set<string>();
  let readsTable = false;
  const references: string[][] = [];
  let hit = false;
  const visit = (node: unknown): void => {
    if (hit || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const item of node) visit(item);
      return;
    }
    const record = node as Record<string, unknown>;
    // FROM items are wrapped ({ RangeVar }); the target of INSERT/UPDATE/DELETE/MERGE is a bare `relation`.
    for (const range of [record.RangeVar, record.relation] as Array<RangeVarNode | undefined>) {
      if (range?.relname === target.table && (range.schemaname === undefined || range.schemaname === target.schema)) {
        readsTable = true;
        aliases.add(range.alias?.aliasname ?? target.table);
      }
    }
    const columnRef = record.ColumnRef as { fields?: unknown[] } | undefined;
    if (columnRef?.fields)
      references.push(columnRef.fields.map((field) => (field as { String?: { sval?: string } }).String?.sval ?? '*'));
    // `(x).job_title`, `($1).job_title`: a field of a row of the table held by a variable or an argument.
    const indirection = record.A_Indirection as { arg?: Record<string, unknown>; indirection?: unknown[] } | undefined;
    const field = (indirection?.indirection?.[0] as { String?: { sval?: string } } | undefined)?.String?.sval;
    if (indirection?.arg && field === target.column) {
      const param = (indirection.arg.ParamRef as { number?: number } | undefined)?.number;
      const single = (indirection.arg.ColumnRef as { fields?: unknown[] } | undefined)?.fields;
      const name =
        param !== undefined
          ? `$${param}`
          : single?.length === 1
            ? (single[0] as { String?: { sval?: string } }).String?.sval
            : undefined;
      if (name !== undefined && records.includes(name)) hit = true;
      if (name !== undefined && single?.length === 1) references.push([name, field]);
    }
    const constant = (record.A_Const as { sval?: { sval?: string } } | undefined)?.sval?.sval;
    if (constant !== undefined && textMention(constant, target.column)) hit = true;
    for (const statement of ['InsertStmt', 'UpdateStmt'] as const) {
      const write = record[statement] as
        | {
            relation?: RangeVarNode;
            cols?: unknown[];
            targetList?: unknown[];
            onConflictClause?: { targetList?: unknown[] };
          }
        | undefined;
      const relation = write?.relation;
      if (
        !write ||
        relation?.relname !== target.table ||
        (relation.schemaname !== undefined && relation.schemaname !== target.schema)
      )
        continue;
      const targets = [
        ...(write.cols ?? []),
        ...(statement === 'UpdateStmt' ? (write.targetList ?? []) : []),
        ...(write.onConflictClause?.targetList ?? []),
      ];
      if (targets.some((item) => (item as { ResTarget?: { name?: string } }).ResTarget?.name === target.column))
        hit = true;
    }
    for (const value of Object.values(record)) visit(value);
  };
  visit(tree);
  if (hit) return true;
  return references.some((names) => {
    if (names.at(-1) !== target.column) return false;
    if (names.length === 1) return readsTable;
    const qualifier = names.at(-2)!;
    return aliases.has(qualifier) || (names.length === 2 && records.includes(qualifier));
  });
}

/** The column's name as a word of `text` (any case for a plain name, else its quoted form): what phase 3's guard matches. */
export function textMention(text: string, column: string): { line: number } | undefined {
  const plain = /^[a-z_\u0080-\u{10FFFF}][a-z0-9_$\u0080-\u{10FFFF}]*$/u.test(column);
  // A longer identifier PostgreSQL cuts to the name (63 bytes) names it too.
  const tail = truncatedTail(column);
  const end = (boundary: string) => (tail === '' ? '' : `(${boundary}${tail === undefined ? '' : `|${tail}`})`);
  const pattern = plain
    ? new RegExp(`(^|[^\\p{L}\\p{N}_$])${escapeRegExp(column)}${end('[^\\p{L}\\p{N}_$]|$')}`, 'iu')
    : new RegExp(escapeRegExp(`"${column.replace(/"/g, '""')}`) + end('"'), 'u');
  const match = pattern.exec(text);
  return match ? { line: text.slice(0, match.index + (plain ? match[1]!.length : 0)).split('\n').length } : undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}]/g, (char) => `\\${char}`);
}

/** A name as PostgreSQL reads it: quoted, as written; unquoted, ASCII capitals folded (`Ärger` stays `Ärger`). */
function unquote(name: string): string {
  return name.startsWith('"') && name.endsWith('"')
    ? name.slice(1, -1).replace(/""/g, '"')
    : name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** 1-based line of the first non-blank character at or after a UTF-8 byte offset (libpg-query's locations count bytes). */
export function lineAt(text: string, byteOffset: number): number {
  const before = Buffer.from(text, 'utf8').subarray(0, byteOffset).toString('utf8');
  const blank = /^\s*/.exec(text.slice(before.length))![0];
  return (before + blank).split('\n').length;
}

export function dollarTag(body: string): string {
  let tag = '$phasectl$';
  for (let n = 2; body.includes(tag); n++) tag = `$phasectl_${n}$`;
  return tag;
}
