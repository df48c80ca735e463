/**
 * Functions and procedures whose body names the column: `plan` lists them as work for the team before phase 3
 * (judged by the parser, src/dependents/function-body.ts), and phase 3's guard refuses to drop the column while
 * any function still mentions it. The guard runs in SQL (other runners are guarded too), so it is a text search;
 * functions whose text plan's parser cleared (a comment, another table's column) are exempt while their body is
 * unchanged (same md5), and a team may exempt one by hand with a comment `phasectl: not <change-id>`. Pure.
 */
import { columnMentionCondition } from '../operations/column-mention.js';
import type { DependentFunction } from '../spec/types.js';
import { positionalUses, type ColumnLayout, type PositionalUse } from './column-order.js';
import { bodyNamesColumn, type ColumnOfTable } from './function-body.js';

/**
 * What the parser needs of a candidate's body. NEW/OLD may hold a row of the table unless the function is a trigger
 * only on other tables (its partitions count as the table: src/catalog/dependent-functions.ts).
 */
function bodyFacts(source: FunctionSource) {
  return {
    language: source.language,
    source: source.source,
    returnsTrigger: source.returnsTrigger,
    recordsMayBeTable: source.onThisTable || !source.onOtherTable,
    rowArguments: source.rowArguments ?? [],
  };
}

/** Plan's verdict on each candidate: names the column (with the line) or only matches as text. */
export function judgeFunctions(sources: readonly FunctionSource[], target: ColumnOfTable): DependentFunction[] {
  return sources.map((source) => {
    const mention = bodyNamesColumn(bodyFacts(source), target);
    return {
      name: source.name,
      fingerprint: source.fingerprint,
      namesColumn: mention !== undefined,
      ...(mention ? { line: mention.line } : {}),
    };
  });
}

/** A function with statements that map the table's columns by position (src/dependents/column-order.ts). */
export interface PositionalFunction {
  name: string;
  fingerprint: string;
  uses: PositionalUse[];
}

/** Plan's verdict on the functions that use the table: those that map its columns by position. */
export function judgeColumnOrder(
  sources: readonly FunctionSource[],
  target: ColumnOfTable,
  layout: ColumnLayout,
): PositionalFunction[] {
  if (layout.position === 0) return [];
  return sources.flatMap((source) => {
    const uses = positionalUses(bodyFacts(source), target, layout);
    return uses.length === 0 ? [] : [{ name: source.name, fingerprint: source.fingerprint, uses }];
  });
}

/**
 * Plan's verdict on the functions that use a table which gains a column at phase 1 and keeps its other columns (a
 * move's target): only those writing its whole row into another table by position break, from phase 1 on.
 */
export function judgeWholeRow(
  sources: readonly FunctionSource[],
  table: { schema: string; table: string },
): PositionalFunction[] {
  // A layout in which no INSERT into the table itself counts (its values never reach a column that moves).
  const layout: ColumnLayout = { position: 1, columns: 1, removed: false };
  return judgeColumnOrder(sources, { ...table, column: '' }, layout)
    .map((fn) => ({ ...fn, uses: fn.uses.filter((use) => use.wholeRow) }))
    .filter((fn) => fn.uses.length > 0);
}

/**
 * The record: each function with `byPosition` (the line of its first positional statement, phase 3 refuses while
 * unchanged) and `wholeRow` (the line of its first statement writing the whole row of a table that gains a column at
 * phase 1 into another table by position, phase 1 refuses while unchanged) where it has them. `positional`: the
 * table whose column order phase 3 changes; `growing`: the uses of the table that gains the column at phase 1 (a
 * rename's own table, then `positional` itself; a move's target).
 */
export function withColumnOrder(
  functions: readonly DependentFunction[],
  positional: readonly PositionalFunction[],
  growing: readonly PositionalFunction[] = [],
): DependentFunction[] {
  const lines = new Map(positional.map((fn) => [fn.name, fn.uses[0]!.line]));
  const wholeRows = new Map(
    growing.flatMap((fn) => {
      const use = fn.uses.find((candidate) => candidate.wholeRow);
      return use ? [[fn.name, use.line] as const] : [];
    }),
  );
  const facts = (name: string) => ({
    ...(lines.has(name) ? { byPosition: lines.get(name)! } : {}),
    ...(wholeRows.has(name) ? { wholeRow: wholeRows.get(name)! } : {}),
  });
  const recorded = functions.map((fn) => ({ ...fn, ...facts(fn.name) }));
  const added = [...positional, ...growing]
    .filter((fn, index, all) => all.findIndex((other) => other.name === fn.name) === index)
    .filter(
      (fn) => (lines.has(fn.name) || wholeRows.has(fn.name)) && !functions.some((known) => known.name === fn.name),
    )
    .map((fn) => ({ name: fn.name, fingerprint: fn.fingerprint, namesColumn: false, ...facts(fn.name) }));
  return [...recorded, ...added].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Plan's notes: each function that maps the table's columns by position, its statements, and the fix. */
export function columnOrderNotes(positional: readonly PositionalFunction[], table: string, how: string): string[] {
  if (positional.length === 0) return [];
  return [
    `work before phase 3: ${positional.length} function(s) map the columns of ${table} by position; ${how}, so such a statement pairs values with other columns (silently when the types line up). Name the columns in each (INSERT INTO … (a, b) …, SELECT a, b INTO …; CREATE OR REPLACE) — phase 3 refuses to drop the column until then:`,
    ...positional.flatMap((fn) =>
      fn.uses.map((use) => `  - ${fn.name}, line ${use.line} of its body: ${use.statement}`),
    ),
  ];
}

/**
 * Plan's loud note: the functions that write the whole row of the table gaining a column at phase 1 into another
 * table by position. Plan goes on (the team changes them while the release is prepared); phase 1's expand refuses
 * while one is unchanged.
 */
export function wholeRowNotes(growing: readonly PositionalFunction[], table: string, column: string): string[] {
  const uses = growing.flatMap((fn) => fn.uses.filter((use) => use.wholeRow).map((use) => ({ fn, use })));
  if (uses.length === 0) return [];
  const count = new Set(uses.map(({ fn }) => fn.name)).size;
  return [
    `work before phase 1 ships: ${count} function(s) write the whole row of ${table} into another table by position; phase 1 adds ${column} as its last column, so from then on the row has one value more and such an INSERT fails ("INSERT has more expressions than target columns": every UPDATE or DELETE that fires it fails, the backfill too) or puts the value into the other table's next column. Name the columns in each (INSERT INTO audit (id, …) VALUES (OLD.id, …); CREATE OR REPLACE) — phase 1 refuses to add the column until then:`,
    ...uses.map(({ fn, use }) => `  - ${fn.name}, line ${use.line} of its body: ${use.statement}`),
  ];
}

/**
 * Context of the shared `guard-whole-row` partial (phase 1's expand, before the column is added): refuse while a
 * function plan found writing the whole row of `table` into another table by position is unchanged. Pure.
 */
export function wholeRowGuard(
  changeId: string,
  table: { schema: string; table: string },
  column: string,
  functions: readonly DependentFunction[],
) {
  const listed = functions.filter((fn) => fn.wholeRow !== undefined);
  return {
    wholeRowGuard: listed.length > 0,
    wholeRowSchema: table.schema,
    wholeRowTable: table.table,
    wholeRowColumn: column,
    wholeRowFunctions: listed.map((fn) => `${fn.fingerprint} ${fn.name}`).sort(),
    wholeRowExemption: `%${exemptionMark(changeId)}%`,
    wholeRowHint:
      `change ${changeId}: from phase 1 on the row of ${table.schema}.${table.table} has one value more (${column}, added last), so an INSERT without a column list that writes the whole row (VALUES (OLD.*), SELECT * FROM ${table.table}) fails or fills the other table's next column; ` +
      `name the columns in each such statement (INSERT INTO audit (id, …) VALUES (OLD.id, …)) with CREATE OR REPLACE FUNCTION (\`phasectl plan refresh\` lists them with their lines), then rerun \`phasectl migrate\`; ` +
      `one that is right as it is can say so in its comment: COMMENT ON FUNCTION … IS '${exemptionMark(changeId)}' (phase 3's guards then let it through too)`,
  };
}

/** Plan's notes: each function to change before phase 3. */
export function functionNotes(functions: readonly DependentFunction[], where: string, replacement: string): string[] {
  const named = functions.filter((fn) => fn.namesColumn);
  if (named.length === 0) return [];
  return [
    `work before phase 3: ${named.length} function(s) name ${where}; change each to use ${replacement} (CREATE OR REPLACE, in the release of phase 2 or later) — phase 3 refuses to drop the column until then:`,
    ...named.map((fn) => `  - ${fn.name}${fn.line === undefined ? '' : `, line ${fn.line} of its body`}`),
  ];
}

/** The mark a team puts in a function's comment to tell phase 3's guard the function does not use the column. */
export function exemptionMark(changeId: string): string {
  return `phasectl: not ${changeId}`;
}

/**
 * Context of the shared `guard-functions` partial (phase 3): refuse while a function's body mentions `column`.
 * `table`: a move keeps the column's name on the target table, so a function rewritten to read the target would
 * still mention it; there the body must mention the source table too (a function reads a column through its table).
 */
export function functionGuard(
  changeId: string,
  column: string,
  replacement: string,
  functions: readonly DependentFunction[],
  table?: string,
) {
  const cleared = functions.filter((fn) => !fn.namesColumn).map((fn) => `${fn.fingerprint} ${fn.name}`);
  const mention = columnMentionCondition('p.prosrc', column);
  return {
    functionGuardColumn: column,
    userFunctions: userFunctionCondition('p', 'n', 'l'),
    functionMention: table === undefined ? mention : `${mention} AND ${columnMentionCondition('p.prosrc', table)}`,
    clearedFunctions: cleared.sort(),
    exemptionPattern: `%${exemptionMark(changeId)}%`,
    // Functions plan found mapping the table's columns by position: refused while their body is as it was.
    orderGuard: functions.some((fn) => fn.byPosition !== undefined),
    orderFunctions: functions
      .filter((fn) => fn.byPosition !== undefined)
      .map((fn) => `${fn.fingerprint} ${fn.name}`)
      .sort(),
    orderGuardHint:
      `change ${changeId}: name the columns in each statement that maps the table's columns by position (INSERT INTO … (a, b) VALUES …, SELECT a, b INTO …), with CREATE OR REPLACE FUNCTION; \`phasectl plan refresh\` lists them with their lines; then rerun \`phasectl migrate\`; ` +
      `one that is right as it is can say so in its comment: COMMENT ON FUNCTION … IS '${exemptionMark(changeId)}'`,
    functionGuardHint:
      `change ${changeId}: rewrite each to use ${replacement} instead of ${column} (CREATE OR REPLACE FUNCTION …), then rerun \`phasectl migrate\`; ` +
      `one that does not use this column at all can say so in its comment: COMMENT ON FUNCTION … IS '${exemptionMark(changeId)}'`,
  };
}

/** A user function or procedure whose source text mentions the column's name (a candidate for the parser). */
export interface FunctionSource {
  /** `oid::regprocedure` (search_path pg_catalog, pg_temp: qualified). */
  name: string;
  language: string;
  source: string;
  /** md5 of the source, as phase 3's guard computes it. */
  fingerprint: string;
  returnsTrigger: boolean;
  /** Used by a trigger on the column's table. */
  onThisTable: boolean;
  /** Used by a trigger on some other table only. */
  onOtherTable: boolean;
  /** Arguments of the table's row type: their names and `$n` (src/dependents/function-body.ts). */
  rowArguments?: string[];
}

/**
 * SQL condition: `proc` (pg_proc alias) is a user's function or procedure with a source to read. Shared with
 * phase 3's guard so plan and guard look at the same functions. Pure.
 */
export function userFunctionCondition(proc: string, namespace: string, language: string): string {
  return [
    `${namespace}.nspname OPERATOR(pg_catalog.<>) ALL (ARRAY['pg_catalog', 'information_schema', 'phasectl']::pg_catalog.name[])`,
    `NOT pg_catalog.starts_with(${namespace}.nspname::pg_catalog.text, 'pg_')`,
    `${language}.lanname OPERATOR(pg_catalog.<>) ALL (ARRAY['c', 'internal']::pg_catalog.name[])`,
    `${proc}.prokind OPERATOR(pg_catalog.=) ANY (ARRAY['f', 'p']::pg_catalog."char"[])`,
    `NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend AS e WHERE e.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass AND e.objid OPERATOR(pg_catalog.=) ${proc}.oid AND e.deptype OPERATOR(pg_catalog.=) 'e')`,
  ].join('\n    AND ');
}
