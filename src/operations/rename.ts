import { InputError } from '../errors.js';
import { contractGuards } from './contract-guards.js';
import { refuseControlCharacters } from '../spec/name-guard.js';
import { renderTemplate } from '../render/environment.js';
import { qualify, quoteIdent, quoteLiteral } from '../render/quote.js';
import type { PhaseNumber, RenameChange } from '../spec/types.js';
import { defaultGenerationSettings, type GenerationSettings } from './settings.js';
import { differs, identical } from './identity.js';
import { copyFunctionName, derivedName, insertFunctionName, syncFunctionName, syncTriggerNames } from './naming.js';
import { syncTriggerContext } from './sync-trigger-order.js';
import { mentionsColumn, replaceColumnReference } from './sql-identifiers.js';
import { CHANGE_ID_PATTERN } from '../spec/change-id.js';
import {
  BACKFILL_SETTING,
  backfillDraft,
  batchPlan,
  countDifferentSql,
  auditSql,
  keyRangeParams,
  verifyDraft,
  walkKeyContext,
  type Direction,
} from './batch-walk.js';
import { columnCopy, copiedObjects, copySteps, dropCopySteps, restoreSteps, type ColumnCopy } from './column-copy.js';
import { record } from './plan-parts.js';
import { refuseUncopyablePartitionedConstraints } from './partitioned-indexes.js';
import { renderSteps, type StepDraft } from './step-drafts.js';
import type { Authority, BackfillPlan, Definition, DerivedObject, Operation, PhaseSteps, Step } from './types.js';
import { newColumnGuard } from './new-column-guard.js';
import { wholeRowGuard } from '../dependents/functions.js';
import { dependentSlots } from '../dependents/dependent-slots.js';
import { conversionCheckSql } from '../render/conversion-check.js';
import { conversionSelects } from './conversion-selects.js';
import { keyOperatorSchemasQuery } from './key-operators.js';
import { clusterIndexPairs, identityIndexPairs } from './carried-identity.js';

const kind = 'rename';

/** Everything the templates of one rename need, derived once from the change's facts. */
interface RenameModel {
  change: RenameChange;
  schema: string;
  table: string;
  from: string;
  to: string;
  /** Type (and collation) of the new column, of the old column. */
  newType: string;
  oldType: string;
  /** up(x): the new column's value from an old-column expression x; down(x) the reverse. */
  up: (oldValue: string) => string;
  down: (newValue: string) => string;
  /** up(x) and down(x) cast to the exact column type, for identity comparisons (both sides must hold one type). */
  upTyped: (oldValue: string) => string;
  downTyped: (newValue: string) => string;
  /** The types without collation (format_type's spelling, or `rename.type`): what identity comparisons compare. */
  newBareType: string;
  oldBareType: string;
  /** No conversion: up and down are the column itself. */
  identity: boolean;
  /**
   * Indexes and constraints of `from`, their copies on `to`, and the NOT NULL check `to` carries until phase 3; with
   * what else uses the column (views, generated columns, foreign keys, triggers), carried in the same slots.
   */
  copy: ColumnCopy;
  functionName: string;
  triggerName: string;
}

/** Every name of a rename that the generated SQL mentions, with its role, for the control-character guard. */
function namesOf(change: RenameChange): Array<[string, string]> {
  const { schema, table, from, to } = change.rename;
  return [
    ['schema', schema],
    ['table', table],
    ['from', from],
    ['to', to],
    ...change.key.columns.map((name): [string, string] => ['key column', name]),
    ...change.column.indexes.map((index): [string, string] => ['index', index.name]),
    ...change.column.constraints.map((constraint): [string, string] => ['constraint', constraint.name]),
  ];
}

/** An SQL expression on one line, for the comments that quote it (a line break would end the comment). */
function oneLine(sql: string): string {
  return sql.replace(/\s*[\r\n]+\s*/g, ' ');
}

function buildModel(change: RenameChange): RenameModel {
  const { schema, table, from, to } = change.rename;
  const where = `change ${change.id} (${schema}.${table}.${from} → ${to})`;
  if (!CHANGE_ID_PATTERN.test(change.id)) {
    throw new InputError(`change id ${JSON.stringify(change.id)} is not valid`, {
      hint: 'use lower-case letters, digits and -',
    });
  }
  refuseControlCharacters(namesOf(change), where);
  if (from === to)
    throw new InputError(`${where}: the new name equals the old one`, { hint: 'choose a different `to` name' });
  if (change.key.columns.length === 0) {
    throw new InputError(`${where}: no key to walk for the backfill`, {
      hint: `add a primary key (or a unique NOT NULL column) to ${schema}.${table}, then run \`phasectl plan\` again`,
    });
  }
  if (change.key.columns.includes(from)) {
    throw new InputError(
      `${where}: ${from} is part of the key the backfill walks; renaming a key column is not supported`,
      {
        hint: `give ${schema}.${table} another unique NOT NULL key, or rename the key column in a maintenance window`,
      },
    );
  }
  const column = change.column;
  if (change.rename.partitioned) refuseUncopyablePartitionedConstraints(column.constraints, column.indexes, where);
  const collate = column.collation ? ` COLLATE ${column.collation}` : '';
  const oldType = `${column.type}${collate}`;
  const typeChanges = change.rename.type !== undefined && change.rename.type !== column.type;
  const newType = typeChanges ? (change.rename.type as string) : oldType;
  const bareNewType = change.rename.type ?? column.type;
  const upExpression = change.rename.up;
  const downExpression = change.rename.down;
  if (upExpression !== undefined && !mentionsColumn(upExpression, from)) {
    throw new InputError(
      `${where}: the up expression ${JSON.stringify(upExpression)} does not use the column ${from}`,
      {
        hint: `write it in terms of the old column, e.g. CAST(${quoteIdent(from)} AS ${bareNewType})`,
      },
    );
  }
  if (downExpression !== undefined && !mentionsColumn(downExpression, to)) {
    throw new InputError(
      `${where}: the down expression ${JSON.stringify(downExpression)} does not use the column ${to}`,
      {
        hint: `write it in terms of the new column, e.g. CAST(${quoteIdent(to)} AS ${column.type})`,
      },
    );
  }
  // A user expression is always parenthesized where it is embedded: `CASE … THEN … END` after `IS DISTINCT FROM` in a
  // plpgsql IF would otherwise end the condition at the CASE's first THEN.
  const up = (value: string) =>
    upExpression !== undefined
      ? `(${replaceColumnReference(upExpression, from, value)})`
      : typeChanges
        ? `CAST(${value} AS ${bareNewType})`
        : value;
  const down = (value: string) =>
    downExpression !== undefined
      ? `(${replaceColumnReference(downExpression, to, value)})`
      : typeChanges
        ? `CAST(${value} AS ${column.type})`
        : value;
  const upTyped = (value: string) => (upExpression !== undefined ? `CAST(${up(value)} AS ${bareNewType})` : up(value));
  const downTyped = (value: string) =>
    downExpression !== undefined ? `CAST(${down(value)} AS ${column.type})` : down(value);

  const copy = columnCopy(
    {
      changeId: change.id,
      original: { schema, table, column: from, label: from },
      copy: { schema, table, column: to, label: to },
      facts: column,
      ...(change.dependents === undefined ? {} : { dependents: change.dependents }),
      partitioned: change.rename.partitioned === true,
    },
    {
      where,
      planCommand: 'phasectl plan',
      copyName: (name) => derivedName(name, from, to),
      copyIndexComment: (index) =>
        `Index ${index.name} rebuilt on ${to}${index.constraint ? ` (it becomes constraint ${derivedName(index.constraint, from, to)})` : ''}, without blocking writes.`,
      otherTable: false,
      copyNotNull: true,
    },
    dependentSlots(change, where),
  );
  return {
    change,
    schema,
    table,
    from,
    to,
    newType,
    oldType,
    up,
    down,
    upTyped,
    downTyped,
    newBareType: bareNewType,
    oldBareType: column.type,
    identity: upExpression === undefined && downExpression === undefined && !typeChanges,
    copy,
    functionName: syncFunctionName(change.id),
    triggerName: syncTriggerNames(change.id, change.rename.syncTrigger).triggerName,
  };
}

/** The SQL of the sync function, version 1 (authority: old column) or 2 (authority: new column). */
function syncFunctionSql(model: RenameModel, version: 1 | 2, templatesDir?: string): string {
  return renderTemplate(
    kind,
    'sync-function',
    {
      ...names(model),
      version: version === 1 ? '01' : '02',
      authority: version === 1 ? 'old' : 'new',
      oldIsAuthority: version === 1,
      newFromOld: model.up(`NEW.${quoteIdent(model.from)}`),
      oldFromNew: model.down(`NEW.${quoteIdent(model.to)}`),
      toUnchanged: identical(`NEW.${quoteIdent(model.to)}`, `OLD.${quoteIdent(model.to)}`, model.newBareType),
      fromChanged: differs(`NEW.${quoteIdent(model.from)}`, `OLD.${quoteIdent(model.from)}`, model.oldBareType),
      fromUnchanged: identical(`NEW.${quoteIdent(model.from)}`, `OLD.${quoteIdent(model.from)}`, model.oldBareType),
      toDiffersFromOld: differs(
        `NEW.${quoteIdent(model.to)}`,
        model.upTyped(`NEW.${quoteIdent(model.from)}`),
        model.newBareType,
      ),
      ...authorityTests(model, version),
      ...notCopiedTests(model, version),
      newDiffers: newDiffers(model),
    },
    templatesDir,
  ).trimEnd();
}

/** `NEW."col"` / `OLD."col"`: a column of the trigger's row. */
function rowColumn(row: 'NEW' | 'OLD', name: string): string {
  return `${row}.${quoteIdent(name)}`;
}

/**
 * A type change's row not copied yet in the direction the backfill of `version` walks (1: `from` to `to`, 2: the
 * restore, `to` to `from`): the target column NULL, the source not. `keyMovedNotCopied` is its update trigger's test
 * of an update that moved such a row to another key (which the walk may have passed), `copyTarget` and `copyValue` the
 * sync function's copy of it.
 */
function notCopiedTests(model: RenameModel, version: 1 | 2) {
  const [source, target] = version === 1 ? [model.from, model.to] : [model.to, model.from];
  const notCopied = `${rowColumn('NEW', target)} IS NULL AND ${rowColumn('NEW', source)} IS NOT NULL`;
  const key = model.change.key.columns;
  return {
    notCopied,
    keyMovedNotCopied: `(${differs(
      key.map((name) => rowColumn('NEW', name)),
      key.map((name) => rowColumn('OLD', name)),
    )} AND ${notCopied})`,
    copyTarget: target,
    copyValue: version === 1 ? model.up(rowColumn('NEW', model.from)) : model.down(rowColumn('NEW', model.to)),
  };
}

/** SQL true when the row's two columns differ after the write (by identity when they share a type). */
function newDiffers(model: RenameModel): string {
  return differs(
    `NEW.${quoteIdent(model.to)}`,
    `NEW.${quoteIdent(model.from)}`,
    model.identity ? model.newBareType : undefined,
  );
}

/**
 * The authority of sync function `version` (1: `from`, 2: `to`) and the other column, and the identity sync function's
 * one test: the authority column written, or the other one not (same type: no cast).
 */
function authorityTests(model: RenameModel, version: 1 | 2) {
  const [authorityColumn, otherColumn] = version === 1 ? [model.from, model.to] : [model.to, model.from];
  return {
    authorityColumn,
    otherColumn,
    authorityChanged: differs(rowColumn('NEW', authorityColumn), rowColumn('OLD', authorityColumn), model.newBareType),
    otherUnchanged: identical(rowColumn('NEW', otherColumn), rowColumn('OLD', otherColumn), model.newBareType),
  };
}

/**
 * The insert functions and the sync triggers, for the authority of `version` (1: phase 1's `from`, the trigger file and
 * expand; 2: `to`, phase 3's restore). A same-type rename has one insert trigger and update triggers without WHEN
 * clauses on the common path (templates/rename/trigger.sql.hbs says why); a type change keeps its WHEN clauses.
 */
function triggerSql(model: RenameModel, version: 1 | 2, templatesDir?: string): string {
  const context = {
    ...names(model),
    ...authorityTests(model, version),
    newDiffers: newDiffers(model),
    suppressSetting: BACKFILL_SETTING,
    eitherChanged: differs(
      [rowColumn('NEW', model.from), rowColumn('NEW', model.to)],
      [rowColumn('OLD', model.from), rowColumn('OLD', model.to)],
    ),
    ...notCopiedTests(model, version),
    newFromOld: model.up(rowColumn('NEW', model.from)),
    oldFromNew: model.down(rowColumn('NEW', model.to)),
  };
  return `${renderTemplate(kind, 'insert-functions', context, templatesDir).trimEnd()}\n\n${renderTemplate(kind, 'trigger', context, templatesDir).trimEnd()}`;
}

function names(model: RenameModel) {
  return {
    changeId: model.change.id,
    // Same type, no conversion: "in sync" is identity of the two columns, which the triggers' WHEN clauses can test.
    identity: model.identity,
    schema: model.schema,
    table: model.table,
    from: model.from,
    to: model.to,
    // The key's columns, quoted: listed on the update trigger beside the other column (update-trigger-form.hbs).
    keyColumns: model.change.key.columns.map(quoteIdent).join(', '),
    functionName: model.functionName,
    ...syncTriggerContext(model.change),
    insertFunctionName: insertFunctionName(model.change.id, 'any'),
    insertOldFunctionName: insertFunctionName(model.change.id, 'old'),
    insertNewFunctionName: insertFunctionName(model.change.id, 'new'),
    copyFunctionName: copyFunctionName(model.change.id),
  };
}

/**
 * The engine's plan of one direction: `up` fills the new column from the old, `down` the old from the new. `outOfSync`
 * is the test of a row to rewrite and count (by default: the target column is not what the source gives).
 */
function backfillPlan(
  model: RenameModel,
  direction: Direction,
  outOfSync: string = differsFromSource(model, direction),
): BackfillPlan {
  const key = model.change.key;
  const table = qualify(model.schema, model.table);
  const inBatchAndDiffering = `${keyRangeParams(key, 't')} AND ${outOfSync}`;
  return batchPlan(model.change.id, direction, { schema: model.schema, table: model.table }, key, {
    updateSql: `UPDATE ${table} AS t SET ${quoteIdent(targetColumn(model, direction))} = ${sourceValue(model, direction)} WHERE ${inBatchAndDiffering}`,
    countDifferentSql: countDifferentSql(`FROM ${table} AS t WHERE ${inBatchAndDiffering}`),
    ...(direction === 'up'
      ? {
          auditSql: auditSql(
            `FROM ${table} AS t WHERE ${keyRangeParams(key, 't')}`,
            outOfSync,
            model.upTyped(`t.${quoteIdent(model.from)}`),
            `t.${quoteIdent(model.to)}`,
          ),
        }
      : {}),
  });
}

/**
 * Phase 1's backfill: the up plan, which for a same-type rename the engine may verify as it copies
 * (src/backfill/copy-check.ts). A type change keeps the walk afterwards: its conversion runs in the application's
 * sessions too, under their settings, which only a walk compares.
 */
function phaseOneBackfillPlan(model: RenameModel): BackfillPlan {
  const plan = backfillPlan(model, 'up');
  return model.identity ? { ...plan, verifyAsCopied: true } : plan;
}

/**
 * The plan of `backfill --repair` once the new column is the authority (phase 2 applied): a row the sync missed
 * (triggers disabled, `session_replication_role = replica`) is settled as the sync function would have settled it —
 * the new column's value wins and is copied back into the old one; only where the new column is NULL is it filled
 * from the old one. The up plan would overwrite the new release's writes with the old column's stale values.
 */
function newAuthorityRepairPlan(model: RenameModel): BackfillPlan {
  const outOfSync = outOfSyncFromPhase2(model);
  const plan = backfillPlan(model, 'up', outOfSync);
  const table = qualify(model.schema, model.table);
  const [from, to] = [`t.${quoteIdent(model.from)}`, `t.${quoteIdent(model.to)}`];
  const where = `${keyRangeParams(model.change.key, 't')} AND ${outOfSync}`;
  return {
    ...plan,
    updateSql:
      `UPDATE ${table} AS t SET ${quoteIdent(model.from)} = CASE WHEN ${to} IS NULL THEN ${from} ELSE ${model.down(to)} END, ` +
      `${quoteIdent(model.to)} = CASE WHEN ${to} IS NULL THEN ${model.up(from)} ELSE ${to} END WHERE ${where}`,
  };
}

/** The column a backfill of that direction writes. */
function targetColumn(model: RenameModel, direction: Direction): string {
  return direction === 'up' ? model.to : model.from;
}

/** The value a backfill of that direction writes: up(old) or down(new) of the row `t`. */
function sourceValue(model: RenameModel, direction: Direction): string {
  return direction === 'up' ? model.up(`t.${quoteIdent(model.from)}`) : model.down(`t.${quoteIdent(model.to)}`);
}

/** The backfill's (and verify's) filter: the target column differs by identity from what the source gives. */
function differsFromSource(model: RenameModel, direction: Direction): string {
  return direction === 'up'
    ? differs(`t.${quoteIdent(model.to)}`, model.upTyped(`t.${quoteIdent(model.from)}`), model.newBareType)
    : differs(`t.${quoteIdent(model.from)}`, model.downTyped(`t.${quoteIdent(model.to)}`), model.oldBareType);
}

/**
 * A row out of sync once phase 2 made the new column the authority: neither column is what the other converts to.
 * The new release writes the new column and the sync derives the old one (old = down(new)); where up(down(y)) is not
 * y (numeric 0.11 → int cents 11 → 0.11000000000000000000) the up test alone would count every such row for ever,
 * and a repair (old = down(new)) could not change that. Same type, no conversion: the one identity test.
 */
function outOfSyncFromPhase2(model: RenameModel): string {
  if (model.identity) return differsFromSource(model, 'up');
  return `(${differsFromSource(model, 'up')}) AND (${differsFromSource(model, 'down')})`;
}

/** Context of the batch-walking DO blocks (backfill, verify); `outOfSync` as for backfillPlan. */
function walkContext(
  model: RenameModel,
  direction: Direction,
  outOfSync: string = differsFromSource(model, direction),
) {
  return {
    ...walkKeyContext(model.change.key, direction),
    target: targetColumn(model, direction),
    source: sourceValue(model, direction),
    sourceLine: oneLine(sourceValue(model, direction)),
    differs: outOfSync,
  };
}

function finishSteps(
  model: RenameModel,
  phase: PhaseNumber,
  direction: 'up' | 'down',
  drafts: Array<StepDraft | undefined>,
  settings: GenerationSettings,
): Step[] {
  return renderSteps({ kind, changeId: model.change.id, names: names(model) }, phase, direction, drafts, settings);
}

function phase1(model: RenameModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const { from, to } = model;
  const up = finishSteps(
    model,
    1,
    'up',
    [
      {
        name: 'expand',
        summary: `add ${to} beside ${from} and keep both in sync with a trigger (authority: ${from})`,
        transaction: true,
        template: 'expand',
        context: {
          newType: model.newType,
          // Storage and compression carry over only to a column of the same type (copy-column-settings).
          sameType: model.newBareType === model.oldBareType,
          newColumn: newColumnGuard(model.schema, model.table, model.to, model.newType, model.newBareType),
          newBareType: model.newBareType,
          conversionCheck: conversionCheck(model, { column: model.from, when: 'from phase 1 on' }),
          syncFunction: syncFunctionSql(model, 1, dir),
          trigger: triggerSql(model, 1, dir),
          // Functions writing the table's whole row elsewhere by position: refused before the column is added.
          ...wholeRowGuard(
            model.change.id,
            { schema: model.schema, table: model.table },
            model.to,
            model.change.dependents?.functions ?? [],
          ),
          ...record(model.change.releases, 1),
        },
      },
      backfillDraft(
        'backfill',
        `copy ${from} into ${to} for existing rows, in batches`,
        phaseOneBackfillPlan(model),
        walkContext(model, 'up'),
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
        name: 'shrink',
        summary: `remove the trigger, the sync function and ${to}`,
        transaction: true,
        template: 'shrink',
        context: {},
      },
    ],
    settings,
  );
  return { up, down };
}

function phase2(model: RenameModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const { from, to } = model;
  const up = finishSteps(
    model,
    2,
    'up',
    [
      verifyDraft(
        `count rows where ${to} differs from ${from} (must be 0 to switch)`,
        backfillPlan(model, 'up'),
        walkContext(model, 'up'),
      ),
      {
        name: 'switch',
        summary: `make ${to} the authority of the sync (guarded: backfilled and verified)`,
        transaction: true,
        template: 'switch',
        context: { syncFunction: syncFunctionSql(model, 2, dir), ...record(model.change.releases, 2) },
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
        context: { syncFunction: syncFunctionSql(model, 1, dir), ...record(model.change.releases, 1) },
      },
    ],
    settings,
  );
  return { up, down };
}

/**
 * A type change: up() of a default phase 3 reads from the database (changed since plan), as a text with a token
 * where the default goes (`pg_catalog.replace` in templates/shared/copy-column-default.hbs). Nothing for a rename
 * that keeps the type (up() is the value itself).
 */
function defaultConversion(model: RenameModel): { convertTemplate?: string; convertToken?: string } {
  if (model.up('x') === 'x') return {};
  let token = 'phasectl_default_expression';
  while (model.up('(x)').includes(token)) token += '_';
  return { convertTemplate: model.up(`(${token})`), convertToken: token };
}

/**
 * The same for phase 3's down of a type change: down() of the new column's default as it is then (changed in flight
 * or since phase 3), for the restored old column (templates/rename/restore-column.sql.hbs). Nothing without a type
 * change (the default is copied as it is).
 */
function defaultBackConversion(model: RenameModel): { backTemplate?: string; backToken?: string } {
  if (model.down('x') === 'x') return {};
  let token = 'phasectl_default_expression';
  while (model.down('(x)').includes(token)) token += '_';
  return { backTemplate: model.down(`(${token})`), backToken: token };
}

function phase3(model: RenameModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const { from, to } = model;
  const columnDefault = model.change.column.default;
  // The check that holds the new column's NOT NULL until phase 3 (absent when the old column is nullable).
  const notNullCheck = model.copy.copyNotNullCheck;
  const validateNotNullCheck = notNullCheck
    ? [{ name: notNullCheck.name, comment: `Validate ${notNullCheck.name} (already validated in phase 1: no scan).` }]
    : [];
  const identityIndexes = identityIndexPairs(model.copy);
  const up = finishSteps(
    model,
    3,
    'up',
    [
      // Again before anything is dropped: a write the trigger missed would otherwise lose its only copy.
      verifyDraft(
        `count rows where ${to} differs from ${from} again (must be 0 to contract)`,
        // A type change: the repair's plan, whose count (and audit) is that of phase 2 on, the new column the
        // authority. A same-type rename has one test either way (its files stay as they were).
        model.identity ? backfillPlan(model, 'up') : newAuthorityRepairPlan(model),
        walkContext(model, 'up', outOfSyncFromPhase2(model)),
      ),
      {
        name: 'contract',
        summary: `drop the trigger, the sync function and ${from}; ${to} takes over NOT NULL and the default`,
        transaction: true,
        template: 'contract',
        context: {
          validations: validateNotNullCheck,
          notNull: notNullCheck ? [{ column: to, check: notNullCheck.name }] : [],
          defaultSql: columnDefault === undefined ? null : model.up(`(${columnDefault})`),
          // What plan read: phase 3 moves the old column's default as it is then (this one as a plain statement).
          recordedDefault: columnDefault ?? null,
          ...defaultConversion(model),
          // The column settings again, as in phase 1 (copy-column-settings): some may have changed in flight.
          sameType: model.newBareType === model.oldBareType,
          // The replica identity index of `from` phase 3 may move to its copy (carry-replica-identity.hbs).
          identityIndexes,
          // The CLUSTER index of `from` moves to its copy (carry-cluster-index.hbs).
          clusterIndexes: clusterIndexPairs(model.copy),
          ...contractGuards(model.copy),
          // A recorded sync trigger name does not start with the default prefix: the guard must still skip it.
          ...(model.change.rename.syncTrigger === undefined
            ? {}
            : { syncTriggerPrefix: model.change.rename.syncTrigger }),
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
        summary: `re-add ${from} and sync it from ${to} again (authority: ${to})`,
        transaction: true,
        template: 'restore-column',
        context: {
          oldType: model.oldType,
          sameType: model.newBareType === model.oldBareType,
          oldBareType: model.oldBareType,
          // The old column is not back yet: the roles that write the new one (the old one gets its grants).
          conversionCheck: conversionCheck(model, { column: model.to, when: 'once this rollback re-creates the sync' }),
          oldDefaultSql: columnDefault ?? null,
          // The default phase 3 gave the new column from the recorded one (contract's defaultSql): while the new
          // column still has it, the old one gets the recorded default back; otherwise down() of the one it has.
          newDefaultSql: columnDefault === undefined ? null : model.up(`(${columnDefault})`),
          ...defaultBackConversion(model),
          constraints: notNullCheck
            ? [{ ...notNullCheck, comment: `${to} must not be NULL, held by a check again as in phase 2.` }]
            : [],
          syncFunction: syncFunctionSql(model, 2, dir),
          trigger: triggerSql(model, 2, dir),
          ...record(model.change.releases, 2),
        },
      },
      backfillDraft(
        'backfill-old',
        `fill ${from} from ${to} for existing rows, in batches`,
        backfillPlan(model, 'down'),
        walkContext(model, 'down'),
      ),
      ...restoreSteps(
        model.copy,
        validateNotNullCheck,
        identityIndexes.length === 0
          ? {}
          : { identityBack: { oldColumn: from, newColumn: to, indexes: identityIndexes } },
      ),
    ],
    settings,
  );
  return { up, down };
}

/** The objects phase 1 creates under derived names (their names must be free when the change is planned). */
export function renameDerivedObjects(change: RenameChange): DerivedObject[] {
  const model = buildModel(change);
  const on = { schema: model.schema, table: model.table };
  return [
    ...copiedObjects(model.copy),
    { kind: 'trigger', ...on, name: model.triggerName, about: 'the sync trigger' },
    { kind: 'function', schema: 'phasectl', table: '', name: model.functionName, about: 'the sync function' },
    {
      kind: 'trigger',
      ...on,
      name: syncTriggerNames(change.id, change.rename.syncTrigger).insertOldTriggerName,
      about: 'the sync trigger of old-release inserts',
    },
    {
      kind: 'trigger',
      ...on,
      name: syncTriggerNames(change.id, change.rename.syncTrigger).copyTriggerName,
      about: 'the sync trigger of updates of the authority column',
    },
    {
      kind: 'function',
      schema: 'phasectl',
      table: '',
      name: copyFunctionName(change.id),
      about: 'the copy function of updates of the authority column',
    },
    {
      kind: 'function',
      schema: 'phasectl',
      table: '',
      name: insertFunctionName(change.id, 'any'),
      about: 'the insert function',
    },
    {
      kind: 'function',
      schema: 'phasectl',
      table: '',
      name: insertFunctionName(change.id, 'old'),
      about: 'the insert function of old-release inserts',
    },
    {
      kind: 'function',
      schema: 'phasectl',
      table: '',
      name: insertFunctionName(change.id, 'new'),
      about: 'the insert function of new-release inserts',
    },
  ];
}

/** Renames a column (optionally changing its type) in three phases: expand, switch, contract. */
export const renameOperation: Operation<RenameChange> = {
  kind: 'rename',
  steps(
    change: RenameChange,
    phase: PhaseNumber,
    settings: GenerationSettings = defaultGenerationSettings,
  ): PhaseSteps {
    const model = buildModel(change);
    if (phase === 1) return phase1(model, settings);
    if (phase === 2) return phase2(model, settings);
    return phase3(model, settings);
  },
  backfillPlan(change: RenameChange, direction: Direction): BackfillPlan {
    const model = buildModel(change);
    // The plan phase 1's backfill file carries (the one source of that file's plan).
    return direction === 'up' ? phaseOneBackfillPlan(model) : backfillPlan(model, direction);
  },
  repairPlan(change: RenameChange, authority: Authority): BackfillPlan {
    const model = buildModel(change);
    return authority === 'new' ? newAuthorityRepairPlan(model) : backfillPlan(model, 'up');
  },
  derivedObjects: renameDerivedObjects,
  definitions(change: RenameChange, settings: GenerationSettings = defaultGenerationSettings): Definition[] {
    const model = buildModel(change);
    const dir = settings.templatesDir;
    return [
      {
        folder: 'functions',
        name: `${change.id}_v01`,
        summary: `sync function v01 of change ${change.id} (authority: ${model.from})`,
        sql: `${syncFunctionSql(model, 1, dir)}\n`,
      },
      {
        folder: 'functions',
        name: `${change.id}_v02`,
        summary: `sync function v02 of change ${change.id} (authority: ${model.to})`,
        sql: `${syncFunctionSql(model, 2, dir)}\n`,
      },
      {
        folder: 'triggers',
        name: change.id,
        summary: `sync triggers of change ${change.id} on ${model.schema}.${model.table}`,
        sql: `${triggerSql(model, 1, dir)}\n`,
      },
    ];
  },
};

/**
 * The check that the conversions of `model` call no other role's code and that every role writing the table (UPDATE of
 * `written.column`, or INSERT) may run them (src/render/conversion-check.ts).
 */
function conversionCheck(model: RenameModel, written: { column: string; when: string }): string {
  const conversions = { up: model.up, down: model.down, oldType: model.oldBareType, newType: model.newBareType };
  const keyTypes = `ARRAY[${model.change.key.types.map(quoteLiteral).join(', ')}]::pg_catalog.text[]`;
  return conversionCheckSql(
    model.schema,
    model.table,
    model.change.id,
    conversionSelects(model.change, conversions),
    keyOperatorSchemasQuery(keyTypes),
    written,
  );
}

/**
 * The conversions the generated SQL applies (`up`: old value → new, `down`: new value → old) and the two
 * column types, for plan's round-trip check over the existing rows (src/catalog/round-trip.ts).
 */
export function renameConversions(change: RenameChange): {
  up: (value: string) => string;
  down: (value: string) => string;
  oldType: string;
  newType: string;
} {
  const model = buildModel(change);
  return {
    up: model.up,
    down: model.down,
    oldType: change.column.type,
    newType: change.rename.type ?? change.column.type,
  };
}
