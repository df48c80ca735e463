import { moveRowSecurityGuard, moveWriterAccessSql, type MoveSyncSide } from './move-writer-access.js';
import { InputError } from '../errors.js';
import { contractGuards } from './contract-guards.js';
import { refuseControlCharacters } from '../spec/name-guard.js';
import { renderTemplate } from '../render/environment.js';
import { qualify, quoteIdent } from '../render/quote.js';
import type { ColumnRef, MoveChange, PhaseNumber } from '../spec/types.js';
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import { differs, identical } from './identity.js';
import {
  afterInsertTriggerName,
  insertTriggerName,
  moveGuardSetting,
  movedName,
  syncFunctionName,
  targetSyncFunctionName,
  triggerName,
} from './naming.js';
import { defaultGenerationSettings, type GenerationSettings } from './settings.js';
import {
  BACKFILL_SETTING,
  backfillDraft,
  batchPlan,
  countDifferentSql,
  auditSql,
  countIntoBatchSql,
  keyRangeParams,
  keyRangeVariables,
  verifyDraft,
  walkKeyContext,
  type Direction,
} from './batch-walk.js';
import { columnCopy, copiedObjects, copySteps, dropCopySteps, restoreSteps, type ColumnCopy } from './column-copy.js';
import { record } from './plan-parts.js';
import { dependentSlots } from '../dependents/dependent-slots.js';
import { renderSteps, type StepDraft } from './step-drafts.js';
import type { Authority, BackfillPlan, Definition, DerivedObject, Operation, PhaseSteps, Step } from './types.js';
import { newColumnGuard } from './new-column-guard.js';
import { wholeRowGuard } from '../dependents/functions.js';

const kind = 'move';

/** A join pair as the templates see it from one side: `here` on that side's table, `there` on the other. */
interface JoinView {
  here: string;
  there: string;
}

/** Everything the templates of one move need, derived once from the change's facts. */
interface MoveModel {
  change: MoveChange;
  source: ColumnRef;
  target: ColumnRef;
  /** Type (and collation) of both columns: a move keeps the type. */
  type: string;
  joins: Array<{ source: string; target: string }>;
  /** Indexes and constraints of the source column, their copies on the target column (NOT NULL is not copied). */
  copy: ColumnCopy;
  sourceFunctionName: string;
  targetFunctionName: string;
  triggerName: string;
  guardSetting: string;
}

function where(change: MoveChange): string {
  const { from, to } = change.move;
  return `change ${change.id} (${from.schema}.${from.table}.${from.column} → ${to.schema}.${to.table}.${to.column})`;
}

function buildModel(change: MoveChange): MoveModel {
  const source = change.move.from;
  const target = change.move.to;
  refuseControlCharacters(
    [
      ['source schema', source.schema],
      ['source table', source.table],
      ['source column', source.column],
      ['target schema', target.schema],
      ['target table', target.table],
      ['target column', target.column],
      ...change.move.on.flatMap((pair): Array<[string, string]> => [
        ['join column', pair.from],
        ['join column', pair.to],
      ]),
      ...change.key.columns.map((name): [string, string] => ['key column', name]),
      ...change.column.indexes.map((index): [string, string] => ['index', index.name]),
      ...change.column.constraints.map((constraint): [string, string] => ['constraint', constraint.name]),
    ],
    where(change),
  );
  if (source.schema === target.schema && source.table === target.table) {
    throw new InputError(`${where(change)}: source and target are the same table`, {
      hint: 'use a rename for a column inside one table',
    });
  }
  if (change.move.on.length === 0) {
    throw new InputError(`${where(change)}: no join columns`, {
      hint: 'give the join as `on: [{ from: id, to: user_id }]`',
    });
  }
  if (
    change.key.columns.includes(source.column) ||
    change.move.on.some((pair) => pair.from === source.column || pair.to === target.column)
  ) {
    throw new InputError(
      `${where(change)}: ${source.column} is part of the key or of the join; a key column cannot be moved`,
      {
        hint: 'move a column that is neither the key nor a join column',
      },
    );
  }
  const column = change.column;
  const type = `${column.type}${column.collation ? ` COLLATE ${column.collation}` : ''}`;
  const side = (ref: ColumnRef) => ({ schema: ref.schema, table: ref.table, column: ref.column, label: label(ref) });
  const copy = columnCopy(
    {
      changeId: change.id,
      original: side(source),
      copy: side(target),
      facts: column,
      ...(change.dependents === undefined ? {} : { dependents: change.dependents }),
    },
    {
      where: where(change),
      planCommand: 'phasectl plan move',
      copyName: (name) => movedName(name, source, target),
      copyIndexComment: (index) =>
        `Index ${index.name} of ${source.table}.${source.column}, rebuilt on ${target.table}.${target.column} without blocking writes.`,
      otherTable: true,
      // NOT NULL is not copied: a target row may exist without a source row (or before it), so NULL is legitimate there.
      copyNotNull: false,
    },
    dependentSlots(change, where(change)),
  );
  return {
    change,
    source,
    target,
    type,
    joins: change.move.on.map((pair) => ({ source: pair.from, target: pair.to })),
    copy,
    sourceFunctionName: syncFunctionName(change.id),
    targetFunctionName: targetSyncFunctionName(change.id),
    triggerName: triggerName(change.id),
    guardSetting: moveGuardSetting(change.id),
  };
}

function names(model: MoveModel) {
  return {
    changeId: model.change.id,
    source: model.source,
    target: model.target,
    type: model.type,
    sourceFunctionName: model.sourceFunctionName,
    targetFunctionName: model.targetFunctionName,
    triggerName: model.triggerName,
    insertTriggerName: insertTriggerName(model.change.id),
    afterInsertTriggerName: afterInsertTriggerName(model.change.id),
  };
}

/** The context of one side's function and trigger: `side` is the table the trigger is on, `other` its partner. */
function sideContext(model: MoveModel, which: 'source' | 'target') {
  const onSource = which === 'source';
  const joins: JoinView[] = model.joins.map((pair) =>
    onSource ? { here: pair.source, there: pair.target } : { here: pair.target, there: pair.source },
  );
  const side = onSource ? model.source : model.target;
  const other = onSource ? model.target : model.source;
  // The written columns of this side: the moved one and the join columns (a new pairing).
  const writtenNames = [side.column, ...joins.map((join) => join.here)];
  // What the update trigger watches: those, and on the source the key the backfill walks. An update that gives a row
  // not copied yet another key may move it behind the walk, or above where it ends; the function then takes it as a
  // pairing to settle (the partner gets the authority's value), as the walk would have.
  const watchedNames = onSource
    ? [...writtenNames, ...model.change.key.columns.filter((name) => !writtenNames.includes(name))]
    : writtenNames;
  const onRow = (row: string, columns: readonly string[]) => columns.map((name) => `${row}.${quoteIdent(name)}`);
  const written = (row: string) => onRow(row, writtenNames);
  const watched = (row: string) => onRow(row, watchedNames);
  const sideColumn = (row: string) => `${row}.${quoteIdent(side.column)}`;
  return {
    ...names(model),
    side,
    other,
    joins,
    // Identity comparisons (binary image, NULL = NULL): a change of case or scale is a change.
    nothingWritten: identical(watched('NEW'), watched('OLD')),
    somethingWritten: differs(watched('NEW'), watched('OLD')),
    // The inserts that may write through: a value and a complete join (the AFTER INSERT trigger's WHEN).
    mayWriteThrough: written('NEW')
      .map((column) => `${column} IS NOT NULL`)
      .join(' AND '),
    columnWritten: differs(sideColumn('NEW'), sideColumn('OLD')),
    differsFromPartner: differs(sideColumn('NEW'), 'partner_value'),
    partnerDiffers: differs(`o.${quoteIdent(other.column)}`, sideColumn('NEW')),
    functionName: onSource ? model.sourceFunctionName : model.targetFunctionName,
    guardSetting: model.guardSetting,
    suppressSetting: BACKFILL_SETTING,
    lockName: `phasectl.move:${model.change.id}`,
  };
}

/** What each side's sync reads and writes on the other (src/sql/move-writer-access.ts). */
function syncSides(model: MoveModel, added: 'target' | 'source'): MoveSyncSide[] {
  return (['source', 'target'] as const).map((which) => {
    const { side, other, joins } = sideContext(model, which);
    return {
      // The step adds the other table's column and copies this one's grants onto it: phase 1's expand the target's
      // (unless it existed), the rollback of phase 3 the source's.
      grantsFromHere:
        added === 'target' ? which === 'source' && !model.change.target.existingColumn : which === 'target',
      table: { schema: side.schema, table: side.table },
      column: side.column,
      joins: joins.map((join) => join.here),
      partner: {
        schema: other.schema,
        table: other.table,
        column: other.column,
        joins: joins.map((join) => join.there),
      },
    };
  });
}

/** One side's sync function: version 1 (authority: the source table) or 2 (authority: the target table). */
function syncFunctionSql(model: MoveModel, side: 'source' | 'target', version: 1 | 2, templatesDir?: string): string {
  const authority = version === 1 ? 'source' : 'target';
  return renderTemplate(
    kind,
    'sync-function',
    {
      ...sideContext(model, side),
      version: version === 1 ? '01' : '02',
      authority,
      sideIsAuthority: side === authority,
    },
    templatesDir,
  ).trimEnd();
}

function triggerSql(model: MoveModel, side: 'source' | 'target', templatesDir?: string): string {
  return renderTemplate(kind, 'trigger', sideContext(model, side), templatesDir).trimEnd();
}

/**
 * The AFTER INSERT trigger of one side, created only where missing (phase 1 of an earlier phasectl wrote an insert
 * through in the BEFORE INSERT trigger and had none): the switch and the switch-back put it before the new function.
 */
function ensureAfterInsertTriggerSql(model: MoveModel, side: 'source' | 'target', templatesDir?: string): string {
  return renderTemplate(kind, 'ensure-after-insert-trigger', sideContext(model, side), templatesDir).trimEnd();
}

/** Both functions and all triggers of a version, as the templates embed them. */
function syncObjects(model: MoveModel, version: 1 | 2, templatesDir?: string) {
  return {
    sourceAfterInsertTrigger: ensureAfterInsertTriggerSql(model, 'source', templatesDir),
    targetAfterInsertTrigger: ensureAfterInsertTriggerSql(model, 'target', templatesDir),
    sourceFunction: syncFunctionSql(model, 'source', version, templatesDir),
    targetFunction: syncFunctionSql(model, 'target', version, templatesDir),
    sourceTrigger: triggerSql(model, 'source', templatesDir),
    targetTrigger: triggerSql(model, 'target', templatesDir),
  };
}

function joinCondition(model: MoveModel, sourceAlias: string, targetAlias: string): string {
  return model.joins
    .map((pair) => `${targetAlias}.${quoteIdent(pair.target)} = ${sourceAlias}.${quoteIdent(pair.source)}`)
    .join(' AND ');
}

/**
 * The batch statements of a move, for a key range given as SQL: `up` copies source → target, `down` target → source.
 * The rows read from the other table are locked FOR SHARE (in the same order the triggers lock: the table written
 * by the application first), so a concurrent write of a pair is waited for and its latest value copied, never a
 * stale one re-applied by PostgreSQL's re-check of a joined UPDATE.
 */
function batchStatements(model: MoveModel, direction: Direction, range: string): { update: string; rows: string } {
  const sourceTable = qualify(model.source.schema, model.source.table);
  const targetTable = qualify(model.target.schema, model.target.table);
  const sourceColumn = quoteIdent(model.source.column);
  const targetColumn = quoteIdent(model.target.column);
  const join = joinCondition(model, 's', 't');
  const pairColumns = model.joins.map((pair, index) => `s.${quoteIdent(pair.source)} AS j${index + 1}`).join(', ');
  const pairs = `FROM ${sourceTable} AS s JOIN ${targetTable} AS t ON ${join}`;
  if (direction === 'up') {
    const matchPair = model.joins.map((pair, index) => `t.${quoteIdent(pair.target)} = p.j${index + 1}`).join(' AND ');
    const differing = `${range} AND ${differs(`t.${targetColumn}`, `s.${sourceColumn}`)}`;
    return {
      update:
        `WITH p AS (SELECT ${pairColumns}, s.${sourceColumn} AS value ${pairs} ` +
        `WHERE ${differing} FOR SHARE OF s) ` +
        `UPDATE ${targetTable} AS t SET ${targetColumn} = p.value FROM p WHERE ${matchPair} AND ${differs(`t.${targetColumn}`, 'p.value')}`,
      rows: `${pairs} WHERE ${differing}`,
    };
  }
  const matchPair = model.joins.map((pair, index) => `s.${quoteIdent(pair.source)} = p.j${index + 1}`).join(' AND ');
  const differing = `${range} AND ${differs(`s.${sourceColumn}`, `t.${targetColumn}`)}`;
  return {
    update:
      `WITH p AS (SELECT ${pairColumns}, t.${targetColumn} AS value ${pairs} ` +
      `WHERE ${differing} FOR SHARE OF t) ` +
      `UPDATE ${sourceTable} AS s SET ${sourceColumn} = p.value FROM p WHERE ${matchPair} AND ${differs(`s.${sourceColumn}`, 'p.value')}`,
    rows: `${pairs} WHERE ${differing}`,
  };
}

/** The engine's plan: it walks the source key; `$1..$k` / `$k+1..$2k` close the batch's range. */
function backfillPlan(model: MoveModel, direction: Direction): BackfillPlan {
  const key = model.change.key;
  const statements = batchStatements(model, direction, keyRangeParams(key, 's'));
  return batchPlan(model.change.id, direction, { schema: model.source.schema, table: model.source.table }, key, {
    updateSql: statements.update,
    countDifferentSql: countDifferentSql(statements.rows),
    ...(direction === 'up' ? { auditSql: moveAuditSql(model, keyRangeParams(key, 's')) } : {}),
  });
}

/**
 * The plan of `backfill --repair` once the target column is the authority (phase 2 applied): for each pair the sync
 * missed, the target's value wins and is copied back to the source; only where the target is NULL is it filled from
 * the source. One statement: the CTE writes the source, the UPDATE the target (the table the plan names), both
 * rows locked first so a concurrent write is waited for.
 */
function targetAuthorityRepairPlan(model: MoveModel): BackfillPlan {
  const plan = backfillPlan(model, 'up');
  const sourceTable = qualify(model.source.schema, model.source.table);
  const targetTable = qualify(model.target.schema, model.target.table);
  const [sourceColumn, targetColumn] = [quoteIdent(model.source.column), quoteIdent(model.target.column)];
  const range = keyRangeParams(model.change.key, 's');
  const pairColumns = model.joins.map((pair, index) => `s.${quoteIdent(pair.source)} AS j${index + 1}`).join(', ');
  const onSource = model.joins.map((pair, index) => `s.${quoteIdent(pair.source)} = p.j${index + 1}`).join(' AND ');
  const onTarget = model.joins.map((pair, index) => `t.${quoteIdent(pair.target)} = p.j${index + 1}`).join(' AND ');
  return {
    ...plan,
    updateSql:
      `WITH p AS (SELECT ${pairColumns}, s.${sourceColumn} AS source_value, t.${targetColumn} AS target_value ` +
      `FROM ${sourceTable} AS s JOIN ${targetTable} AS t ON ${joinCondition(model, 's', 't')} ` +
      `WHERE ${range} AND ${differs(`t.${targetColumn}`, `s.${sourceColumn}`)} FOR UPDATE OF s, t), ` +
      `back AS (UPDATE ${sourceTable} AS s SET ${sourceColumn} = p.target_value FROM p WHERE ${onSource} AND p.target_value IS NOT NULL) ` +
      `UPDATE ${targetTable} AS t SET ${targetColumn} = p.source_value FROM p WHERE ${onTarget} AND p.target_value IS NULL`,
  };
}

/** The audit figures of a batch of the source key: the pairs' source column against their target column. */
function moveAuditSql(model: MoveModel, range: string): string {
  const sourceTable = qualify(model.source.schema, model.source.table);
  const targetTable = qualify(model.target.schema, model.target.table);
  return auditSql(
    `FROM ${sourceTable} AS s JOIN ${targetTable} AS t ON ${joinCondition(model, 's', 't')} WHERE ${range}`,
    differs(`t.${quoteIdent(model.target.column)}`, `s.${quoteIdent(model.source.column)}`),
    `s.${quoteIdent(model.source.column)}`,
    `t.${quoteIdent(model.target.column)}`,
  );
}

/** Context of the batch-walking DO blocks (backfill, verify): the same statements over plpgsql variables. */
function walkContext(model: MoveModel, direction: Direction, description: string) {
  const statements = batchStatements(model, direction, keyRangeVariables(model.change.key, 's'));
  return {
    ...walkKeyContext(model.change.key, direction),
    schema: model.source.schema,
    table: model.source.table,
    description,
    batchStatement: statements.update,
    countStatement: countIntoBatchSql(statements.rows),
  };
}

function finishSteps(
  model: MoveModel,
  phase: PhaseNumber,
  direction: 'up' | 'down',
  drafts: Array<StepDraft | undefined>,
  settings: GenerationSettings,
): Step[] {
  return renderSteps({ kind, changeId: model.change.id, names: names(model) }, phase, direction, drafts, settings);
}

function label(column: ColumnRef): string {
  return `${column.table}.${column.column}`;
}

function phase1(model: MoveModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const from = label(model.source);
  const to = label(model.target);
  const up = finishSteps(
    model,
    1,
    'up',
    [
      {
        name: 'expand',
        summary: `add ${to} and keep it in sync with ${from} through triggers on both tables (authority: ${model.source.table})`,
        transaction: true,
        template: 'expand',
        // valueType: the type without COLLATE, whose domains the trust check follows.
        context: {
          ...syncObjects(model, 1, dir),
          valueType: model.change.column.type,
          writerAccess: moveWriterAccessSql(syncSides(model, 'target')),
          // A column that existed on the target keeps its own settings (copy-column-settings); grants and comment add up.
          existingTarget: model.change.target.existingColumn,
          newColumn: newColumnGuard(
            model.target.schema,
            model.target.table,
            model.target.column,
            model.type,
            model.change.column.type,
          ),
          // Functions writing the target's whole row elsewhere by position: refused before the column is added.
          ...wholeRowGuard(
            model.change.id,
            { schema: model.target.schema, table: model.target.table },
            model.target.column,
            model.change.dependents?.functions ?? [],
          ),
          ...record(model.change.releases, 1),
        },
      },
      backfillDraft(
        'backfill',
        `copy ${from} into ${to} for existing pairs of rows, in batches`,
        backfillPlan(model, 'up'),
        walkContext(
          model,
          'up',
          `Copy ${from} into ${to} wherever the paired rows differ (a source row without a target row keeps its value until that row appears)`,
        ),
      ),
      ...copySteps(model.copy),
    ],
    settings,
  );
  const down = finishSteps(
    model,
    1,
    'down',
    [
      ...dropCopySteps(model.copy),
      {
        name: 'unsync',
        summary: `drop the sync trigger on ${model.target.table} (alone: dropping both in one transaction could deadlock with writers)`,
        transaction: true,
        template: 'unsync',
        context: { guarded: false, comment: `intended drop: the trigger phase 1 created on ${model.target.table}.` },
      },
      {
        name: 'shrink',
        summary: model.change.target.existingColumn
          ? `remove the triggers and sync functions (${to} existed before: it stays)`
          : `remove the triggers, the sync functions and ${to}`,
        transaction: true,
        template: 'shrink',
        context: { dropTargetColumn: !model.change.target.existingColumn },
      },
    ],
    settings,
  );
  return { up, down };
}

function phase2(model: MoveModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const from = label(model.source);
  const to = label(model.target);
  const up = finishSteps(
    model,
    2,
    'up',
    [
      verifyStep(model, `count pairs of rows where ${to} differs from ${from} (must be 0 to switch)`),
      {
        name: 'switch',
        summary: `make ${to} the authority of the sync (guarded: backfilled and verified)`,
        transaction: true,
        template: 'switch',
        context: {
          rowSecurity: moveRowSecurityGuard(model.change),
          ...syncObjects(model, 2, dir),
          ...record(model.change.releases, 2),
        },
      },
    ],
    settings,
  );
  const down = finishSteps(
    model,
    2,
    'down',
    [
      {
        name: 'switch-back',
        summary: `make ${from} the authority of the sync again`,
        transaction: true,
        template: 'switch-back',
        context: { ...syncObjects(model, 1, dir), ...record(model.change.releases, 1) },
      },
    ],
    settings,
  );
  return { up, down };
}

/** The batched verification (phase 2 before the switch, phase 3 before the contract): counts differing rows, records it. */
function verifyStep(model: MoveModel, summary: string): StepDraft {
  const description = `Count the pairs of rows where ${label(model.target)} differs from ${label(model.source)} and record the result`;
  return verifyDraft(summary, backfillPlan(model, 'up'), walkContext(model, 'up', description));
}

function phase3(model: MoveModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const from = label(model.source);
  const to = label(model.target);
  const columnDefault = model.change.column.default;
  const sourceTable = qualify(model.source.schema, model.source.table);
  const targetTable = qualify(model.target.schema, model.target.table);
  const missingPairs = `INSERT INTO ${targetTable} (${model.joins.map((pair) => quoteIdent(pair.target)).join(', ')}) SELECT ${model.joins
    .map((pair) => `s.${quoteIdent(pair.source)}`)
    .join(
      ', ',
    )} FROM ${sourceTable} AS s WHERE s.${quoteIdent(model.source.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${targetTable} AS t WHERE ${joinCondition(model, 's', 't')})`;
  const join = model.joins
    .map((pair) => `t.${displayIdentifier(pair.target)} = s.${displayIdentifier(pair.source)}`)
    .join(' AND ');
  const shown = (ref: ColumnRef) => displayColumn(ref.schema, ref.table);
  const guard = {
    joins: model.joins.map((pair) => ({ here: pair.source, there: pair.target })),
    sourceViewsHint: `change ${model.change.id}: re-create each view to read ${to} instead (CREATE OR REPLACE VIEW … FROM ${shown(model.source)} AS s LEFT JOIN ${shown(model.target)} AS t ON ${join} …, keeping its output columns; a materialized view: drop and create it), then rerun \`phasectl migrate\``,
    // Phase 3 refuses a NOT NULL added to the source after plan (templates/shared/guard-not-null-in-flight.hbs).
    nullableAtPlan: model.change.column.nullable,
    strandedHint: `create the missing target rows (the insert trigger copies the value), e.g. ${missingPairs}; or set ${model.source.column} to NULL where the value should go; then migrate again`,
  };
  const up = finishSteps(
    model,
    3,
    'up',
    [
      // Again before anything is dropped: a write the triggers missed would otherwise lose its only copy.
      verifyStep(model, `count pairs of rows where ${to} differs from ${from} again (must be 0 to contract)`),
      {
        name: 'unsync',
        summary: `stop syncing from ${to}: drop its trigger (guarded: phase 2 applied, no value only in ${from})`,
        transaction: true,
        scan: true,
        template: 'unsync',
        context: {
          ...guard,
          ...contractGuards(model.copy),
          guarded: true,
          // Before the trigger on the target goes: a write the sync missed would lose its only copy.
          rowSecurity: moveRowSecurityGuard(model.change),
          comment: `intended drop: the sync trigger on ${model.target.table}; ${to} is the authority since phase 2.`,
        },
      },
      {
        name: 'contract',
        summary: `drop the trigger on ${model.source.table}, the sync functions and ${from}; ${to} takes over the default ${from} has then, if any`,
        transaction: true,
        scan: true,
        template: 'contract',
        context: {
          ...guard,
          defaultSql: columnDefault ?? null,
          // Phase 3's rule guard (templates/shared/guard-rules.hbs): where the value lives after the drop.
          movedTo: to,
          ...contractGuards(model.copy),
          ...record(model.change.releases, 3),
        },
      },
    ],
    settings,
  );
  const down = finishSteps(
    model,
    3,
    'down',
    [
      {
        name: 'restore-column',
        summary: `re-add ${from} and sync it from ${to} again (authority: ${model.target.table})`,
        transaction: true,
        template: 'restore-column',
        context: {
          oldDefaultSql: columnDefault ?? null,
          valueType: model.change.column.type,
          writerAccess: moveWriterAccessSql(syncSides(model, 'source')),
          ...syncObjects(model, 2, dir),
          ...record(model.change.releases, 2),
        },
      },
      backfillDraft(
        'backfill-old',
        `fill ${from} from ${to} for existing pairs of rows, in batches`,
        backfillPlan(model, 'down'),
        walkContext(model, 'down', `Fill ${from} from ${to} wherever the paired rows differ`),
      ),
      ...restoreSteps(model.copy),
    ],
    settings,
  );
  return { up, down };
}

/** The objects phase 1 creates under derived names (their names must be free when the change is planned). */
export function moveDerivedObjects(change: MoveChange): DerivedObject[] {
  const model = buildModel(change);
  const target = { schema: model.target.schema, table: model.target.table };
  const source = { schema: model.source.schema, table: model.source.table };
  return [
    ...copiedObjects(model.copy),
    ...[source, target].flatMap((table) => [
      { kind: 'trigger' as const, ...table, name: model.triggerName, about: 'the sync trigger' },
      { kind: 'trigger' as const, ...table, name: insertTriggerName(change.id), about: 'the insert sync trigger' },
      {
        kind: 'trigger' as const,
        ...table,
        name: afterInsertTriggerName(change.id),
        about: 'the after-insert sync trigger',
      },
    ]),
    { kind: 'function', schema: 'phasectl', table: '', name: model.sourceFunctionName, about: 'the sync function' },
    {
      kind: 'function',
      schema: 'phasectl',
      table: '',
      name: model.targetFunctionName,
      about: 'the target sync function',
    },
  ];
}

/** Moves a column to another table joined 1:1, in three phases: expand, switch, contract. */
export const moveOperation: Operation<MoveChange> = {
  kind: 'move',
  steps(change: MoveChange, phase: PhaseNumber, settings: GenerationSettings = defaultGenerationSettings): PhaseSteps {
    const model = buildModel(change);
    if (phase === 1) return phase1(model, settings);
    if (phase === 2) return phase2(model, settings);
    return phase3(model, settings);
  },
  backfillPlan(change: MoveChange, direction: Direction): BackfillPlan {
    return backfillPlan(buildModel(change), direction);
  },
  repairPlan(change: MoveChange, authority: Authority): BackfillPlan {
    const model = buildModel(change);
    return authority === 'new' ? targetAuthorityRepairPlan(model) : backfillPlan(model, 'up');
  },
  derivedObjects: moveDerivedObjects,
  definitions(change: MoveChange, settings: GenerationSettings = defaultGenerationSettings): Definition[] {
    const model = buildModel(change);
    const dir = settings.templatesDir;
    const from = label(model.source);
    const to = label(model.target);
    const both = (version: 1 | 2) =>
      `${syncFunctionSql(model, 'source', version, dir)}\n\n${syncFunctionSql(model, 'target', version, dir)}\n`;
    return [
      {
        folder: 'functions',
        name: `${change.id}_v01`,
        summary: `sync functions v01 of change ${change.id} (authority: ${from})`,
        sql: both(1),
      },
      {
        folder: 'functions',
        name: `${change.id}_v02`,
        summary: `sync functions v02 of change ${change.id} (authority: ${to})`,
        sql: both(2),
      },
      {
        folder: 'triggers',
        name: change.id,
        summary: `sync triggers of change ${change.id} on ${model.source.schema}.${model.source.table} and ${model.target.schema}.${model.target.table}`,
        sql: `${triggerSql(model, 'source', dir)}\n\n${triggerSql(model, 'target', dir)}\n`,
      },
    ];
  },
};
