/**
 * User triggers on the table that name the renamed column in their `UPDATE OF` list, their `WHEN` clause or
 * their arguments (`tsvector_update_trigger('fts', 'pg_catalog.english', 'title', 'body')`): phase 3 re-creates
 * each on the new column (CREATE OR REPLACE TRIGGER, in the contract transaction), its down puts the original
 * back. The new definition is pg_get_triggerdef's text with exactly those places renamed, proven by PostgreSQL's
 * parser; a trigger where that cannot be shown is refused at plan. Pure.
 */
import { isDeepStrictEqual } from 'node:util';
import { InputError } from '../errors.js';
import { parseStatement, quoteIdentLikePostgres, scanTokens, SqlParseError } from '../sql/parser.js';
import type { DependentTrigger } from '../spec/types.js';

interface TriggerTree {
  CreateTrigStmt?: { columns?: unknown[]; args?: unknown[]; whenClause?: unknown; isconstraint?: boolean };
}

/** Paths (JSON) of the strings in a CREATE TRIGGER tree that name `column`: UPDATE OF list, arguments, NEW/OLD.column in WHEN. */
function columnPlaces(tree: unknown, column: string): Set<string> {
  const places = new Set<string>();
  const statement = (tree as TriggerTree).CreateTrigStmt;
  if (!statement) throw new SqlParseError('not a CREATE TRIGGER statement');
  for (const list of ['columns', 'args'] as const) {
    (statement[list] ?? []).forEach((item, index) => {
      if ((item as { String?: { sval?: string } }).String?.sval === column)
        places.add(JSON.stringify(['CreateTrigStmt', list, index, 'String', 'sval']));
    });
  }
  const visit = (node: unknown, path: Array<string | number>): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((item, index) => visit(item, [...path, index]));
    const record = node as Record<string, unknown>;
    const fields = (record.ColumnRef as { fields?: Array<{ String?: { sval?: string } }> } | undefined)?.fields;
    if (
      fields?.length === 2 &&
      ['new', 'old'].includes(fields[0]?.String?.sval ?? '') &&
      fields[1]?.String?.sval === column
    ) {
      places.add(JSON.stringify([...path, 'ColumnRef', 'fields', 1, 'String', 'sval']));
    }
    for (const [key, value] of Object.entries(record)) visit(value, [...path, key]);
  };
  visit(statement.whenClause, ['CreateTrigStmt', 'whenClause']);
  return places;
}

/** True when the trigger definition names the column anywhere phase 3 would re-point. Throws SqlParseError on other text. */
export function triggerNamesColumn(definition: string, column: string): boolean {
  return columnPlaces(parseStatement(definition), column).size > 0;
}

/**
 * `definition` (pg_get_triggerdef) re-pointed from `from` to `to`, as `CREATE OR REPLACE TRIGGER …`. Each scanner
 * token spelling `from` (a name, or a string constant) is tried alone: it is replaced only when the parser shows it
 * lands on one of the places to rename; the result must parse to the original with exactly those places renamed.
 */
export function triggerOnColumn(definition: string, from: string, to: string, where: string): string {
  try {
    const original = parseStatement(definition);
    const wanted = columnPlaces(original, from);
    const literal = (name: string) => `'${name.replace(/'/g, "''")}'`;
    const replacements: Array<{ start: number; end: number; text: string }> = [];
    for (const token of scanTokens(definition)) {
      const asName = token.text.startsWith('"')
        ? token.text.slice(1, -1).replace(/""/g, '"')
        : token.text.toLowerCase();
      const text =
        token.text === literal(from)
          ? literal(to)
          : asName === from && !token.text.startsWith("'")
            ? quoteIdentLikePostgres(to)
            : undefined;
      if (text === undefined) continue;
      const probed = parseOrUndefined(definition.slice(0, token.start) + text + definition.slice(token.end));
      const changed = probed === undefined ? undefined : differingLeaves(original, probed, []);
      if (changed?.length === 1 && wanted.has(changed[0]!))
        replacements.push({ start: token.start, end: token.end, text });
    }
    const rewritten = replacements.reduceRight(
      (sql, item) => sql.slice(0, item.start) + item.text + sql.slice(item.end),
      definition,
    );
    const expected = structuredClone(original) as Record<string, unknown>;
    for (const place of wanted) setAt(expected, JSON.parse(place) as Array<string | number>, to);
    if (!isDeepStrictEqual(parseStatement(rewritten), expected))
      throw new SqlParseError(`could not point ${JSON.stringify(definition)} at ${to}`);
    return orReplace(rewritten);
  } catch (error) {
    if (!(error instanceof SqlParseError)) throw error;
    throw new InputError(`${where}: phasectl cannot re-create it on ${to}: ${error.message}`, {
      hint: 'drop that trigger before the change and re-create it on the new column after phase 3, or report this definition',
    });
  }
}

/** `CREATE TRIGGER …` → `CREATE OR REPLACE TRIGGER …` (PostgreSQL 14+: replaced in place, no moment without it). */
export function orReplace(definition: string): string {
  const tokens = scanTokens(definition);
  if (tokens[0]?.text.toUpperCase() !== 'CREATE' || tokens[1]?.text.toUpperCase() !== 'TRIGGER') {
    throw new SqlParseError(`not a plain CREATE TRIGGER (a constraint trigger?): ${JSON.stringify(definition)}`);
  }
  return `CREATE OR REPLACE TRIGGER${definition.slice(tokens[1].end)}`;
}

/** Context of the re-create partial for each recorded trigger: the expected text now, and the one to install. */
export function triggerSwaps(
  triggers: readonly DependentTrigger[],
  from: string,
  to: string,
  where: string,
  direction: 'contract' | 'restore',
) {
  return triggers.map((trigger) => {
    const onNew = triggerOnColumn(trigger.definition, from, to, `${where}: trigger ${trigger.name}`);
    const installed = onNew.replace(/^CREATE OR REPLACE TRIGGER/, 'CREATE TRIGGER');
    return direction === 'contract'
      ? { name: trigger.name, expected: trigger.definition, install: onNew, installed, column: to }
      : {
          name: trigger.name,
          expected: installed,
          install: orReplace(trigger.definition),
          installed: trigger.definition,
          column: from,
        };
  });
}

function parseOrUndefined(sql: string): unknown {
  try {
    return parseStatement(sql);
  } catch {
    return undefined;
  }
}

/** Paths of the string leaves where two trees of the same shape differ; undefined when their shapes differ. */
function differingLeaves(a: unknown, b: unknown, path: Array<string | number>): string[] | undefined {
  if (typeof a === 'string' && typeof b === 'string') return a === b ? [] : [JSON.stringify(path)];
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object')
    return isDeepStrictEqual(a, b) ? [] : undefined;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const found: string[] = [];
  for (const key of keys) {
    const inner = differingLeaves((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], [
      ...path,
      Array.isArray(a) ? Number(key) : key,
    ]);
    if (inner === undefined) return undefined;
    found.push(...inner);
  }
  return found;
}

function setAt(tree: Record<string | number, unknown>, path: Array<string | number>, value: string): void {
  let node = tree;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path[path.length - 1]!] = value;
}
