import { sql, type Kysely } from 'kysely';
import { qualify } from '../render/quote.js';
import { foreignKeyNotes } from '../dependents/foreign-keys.js';
import {
  columnOrderNotes,
  functionNotes,
  judgeColumnOrder,
  judgeFunctions,
  judgeWholeRow,
  wholeRowNotes,
  withColumnOrder,
} from '../dependents/functions.js';
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import type { Change, ColumnRef, DependentFacts, DependentFunction, JoinPair } from '../spec/types.js';
import { readColumnDependents } from './dependent-facts.js';
import { columnLayout, functionsMentioningColumn, functionsMentioningTable } from './dependent-functions.js';
import { ruleNotes, rulesNamingColumn } from './dependent-rules.js';
import { refuseTriggersNamingMovedColumn, triggersNamingColumnInDefinition } from './dependent-triggers.js';
import { triggerSourceNotes, triggersNamingColumn } from './trigger-sources.js';

/**
 * The `dependents:` record of a change as the database has it now, with plan's notes about each kind. One reader for
 * `plan` and `plan refresh`, so both record the same.
 */

/** The record of a planned change, read again (`phasectl plan refresh`). */
export async function readChangeDependents(
  db: Kysely<any>,
  change: Change,
): Promise<{ dependents: DependentFacts; notes: string[] }> {
  if (change.kind === 'move') {
    const { from, to, on } = change.move;
    await refuseTriggersNamingMovedColumn(db, from, to);
    return readMoveDependents(db, from, to, on);
  }
  const { schema, table, from, to } = change.rename;
  const target = { schema, table, column: from };
  const found = await readColumnDependents(db, target, change.column.indexes);
  return readRenameDependents(db, target, to, found);
}

/** A rename of `target` to `newName`; `found`: the views, generated columns and foreign keys read with the column. */
export async function readRenameDependents(
  db: Kysely<any>,
  target: ColumnRef,
  newName: string,
  found: Pick<DependentFacts, 'views' | 'generated' | 'foreignKeys'>,
): Promise<{ dependents: DependentFacts; notes: string[] }> {
  const named = judgeFunctions(await functionsMentioningColumn(db, target), target);
  const notes = triggerSourceNotes(
    namingTriggers(await triggersNamingColumn(db, target, target.column), named),
    target.column,
    newName,
  );
  notes.push(...functionNotes(named, displayColumn(target.schema, target.table, target.column), newName));
  // Phase 1 adds the new column last, phase 3 drops the old one: the table's column order changes.
  const positional = judgeColumnOrder(await functionsMentioningTable(db, target), target, {
    ...(await columnLayout(db, target)),
    removed: false,
  });
  // The table itself grows at phase 1: its whole row written elsewhere by position breaks then (first, loudly).
  const functions = withColumnOrder(named, positional, positional);
  notes.unshift(...wholeRowNotes(positional, displayColumn(target.schema, target.table), newName));
  notes.push(
    ...columnOrderNotes(
      positional,
      displayColumn(target.schema, target.table),
      `phase 1 adds ${newName} as the last column and phase 3 drops ${target.column}`,
    ),
  );
  notes.push(
    ...ruleNotes(
      await rulesNamingColumn(db, target),
      displayColumn(target.schema, target.table, target.column),
      newName,
    ),
  );
  notes.push(...foreignKeyNotes(found.foreignKeys, newName));
  const triggers = await triggersNamingColumnInDefinition(db, target, newName);
  if (triggers.length > 0)
    notes.push(
      `carried: trigger ${triggers.map((trigger) => trigger.name).join(', ')} — re-created on ${newName} in phase 3 (UPDATE OF, WHEN and arguments re-pointed)`,
    );
  return {
    dependents: {
      ...(found.views?.length ? { views: found.views } : {}),
      ...(found.generated?.length ? { generated: found.generated } : {}),
      foreignKeys: found.foreignKeys,
      functions,
      triggers,
    },
    notes,
  };
}

/**
 * A move of `from` to `to`: the record holds the functions that name the source column or map its table's columns
 * by position (phase 3 guards them), and those writing the target's whole row elsewhere by position (phase 1);
 * the views reading it are listed as work (phase 3 guards them from the database); foreign keys and triggers naming
 * it are refused at plan (a move cannot carry them to another table).
 */
export async function readMoveDependents(
  db: Kysely<any>,
  from: ColumnRef,
  to: ColumnRef,
  on: JoinPair[],
): Promise<{ dependents: DependentFacts; notes: string[] }> {
  // Functions reading the source column break once phase 3 drops it: listed now, phase 3 refuses until changed.
  const named = judgeFunctions(await functionsMentioningColumn(db, from), from);
  const notes = triggerSourceNotes(
    namingTriggers(await triggersNamingColumn(db, from, from.column), named),
    from.column,
    `${to.table}.${to.column}`,
  );
  notes.push(...functionNotes(named, displayColumn(from.schema, from.table, from.column), movedTo(from, to, on)));
  // Phase 3 drops the column from the source table: the columns after it move up one place.
  const positional = judgeColumnOrder(await functionsMentioningTable(db, from), from, {
    ...(await columnLayout(db, from)),
    removed: true,
  });
  // The target gains the column at phase 1 (unless it has it already): its whole row written elsewhere by position
  // breaks then, whatever the functions do with the source.
  const growing =
    (await columnLayout(db, to)).position > 0 ? [] : judgeWholeRow(await functionsMentioningTable(db, to), to);
  const functions = withColumnOrder(named, positional, growing);
  notes.unshift(...wholeRowNotes(growing, displayColumn(to.schema, to.table), to.column));
  notes.push(
    ...columnOrderNotes(
      positional,
      displayColumn(from.schema, from.table),
      `phase 3 drops ${from.column} from it (the columns after it move up one place)`,
    ),
  );
  notes.push(
    ...ruleNotes(
      await rulesNamingColumn(db, from),
      displayColumn(from.schema, from.table, from.column),
      movedTo(from, to, on),
    ),
  );
  notes.push(...sourceViewNotes(await viewsReadingColumn(db, from), from, to, on));
  return { dependents: { foreignKeys: [], functions, triggers: [] }, notes };
}

/** The views and materialized views that read `column` directly (pg_depend), as `schema.name` (quoted where needed). */
async function viewsReadingColumn(db: Kysely<any>, column: ColumnRef): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    SELECT DISTINCT pg_catalog.format('%I.%I', n.nspname, v.relname) AS name
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid
    JOIN pg_catalog.pg_class v ON v.oid OPERATOR(pg_catalog.=) r.ev_class
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) v.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) d.refobjid AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
    WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
      AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.refobjid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${qualify(column.schema, column.table)})
      AND a.attname OPERATOR(pg_catalog.=) ${column.column} AND v.oid OPERATOR(pg_catalog.<>) d.refobjid
    ORDER BY 1`.execute(db);
  return rows.map((row) => row.name);
}

/**
 * A move cannot re-point a view (its query would need the join): the team re-creates each one on the target column
 * once phase 1 has filled it, and phase 3 refuses to drop the column while a view still reads it. Pure.
 */
function sourceViewNotes(views: readonly string[], from: ColumnRef, to: ColumnRef, on: JoinPair[]): string[] {
  if (views.length === 0) return [];
  const join = on.map((pair) => `t.${displayIdentifier(pair.to)} = s.${displayIdentifier(pair.from)}`).join(' AND ');
  return [
    `work before phase 3: ${views.length} view(s) read ${displayColumn(from.schema, from.table, from.column)}; once phase 1 has filled ${displayColumn(to.schema, to.table, to.column)} (kept equal from then on), re-create each to read it (CREATE OR REPLACE VIEW … FROM ${displayColumn(from.schema, from.table)} AS s LEFT JOIN ${displayColumn(to.schema, to.table)} AS t ON ${join} …, same output columns; a materialized view: drop and create it) — phase 3 refuses to drop the column until then:`,
    ...views.map((view) => `  - ${view}`),
  ];
}

/** Where a function finds the moved value after phase 3, for the notes: `public.profiles.address (joined on profiles.user_id = users.id)`. */
function movedTo(from: ColumnRef, to: ColumnRef, on: JoinPair[]): string {
  const join = on.map((pair) => `${to.table}.${pair.to} = ${from.table}.${pair.from}`).join(' AND ');
  return `${displayColumn(to.schema, to.table, to.column)} (joined on ${join})`;
}

/**
 * The triggers (`trigger <name> runs <function>`) whose function the parser did not clear: phase 3's trigger guard
 * exempts a cleared function while its body is unchanged, so plan does not tell the team to rewrite it.
 */
function namingTriggers(triggers: readonly string[], functions: readonly DependentFunction[]): string[] {
  const cleared = functions.filter((fn) => !fn.namesColumn).map((fn) => ` runs ${fn.name}`);
  return triggers.filter((trigger) => !cleared.some((suffix) => trigger.endsWith(suffix)));
}
