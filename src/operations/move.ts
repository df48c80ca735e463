import { InputError } from '../errors.js';
import { triggerSourceGuard } from './column-mention.js';
import { refuseControlCharacters } from '../spec/name-guard.js';
import { renderTemplate } from '../render/environment.js';
import { qualify, quoteIdent } from '../render/quote.js';
import type { ColumnRef, ConstraintFact, IndexFact, MoveChange, PhaseNumber } from '../spec/types.js';
import { keyOperatorPathStatement } from './key-operators.js';
import { differs, identical } from './identity.js';
import { insertTriggerName, moveGuardSetting, movedName, notNullCheckName, syncFunctionName, targetSyncFunctionName, triggerName } from './naming.js';
import { defaultGenerationSettings, type GenerationSettings } from './settings.js';
import { quoteIdentLikePostgres } from '../sql/parser.js';
import { acceptedConstraintTexts, constraintOnColumn, indexAfterOn, indexDefinition, indexMethodAndColumns, notNullCheckDefinition } from './definition-rewrite.js';
import { deferrability, record, validations, withoutNotValid, type ConstraintPlan, type IndexPlan } from './plan-parts.js';
import { renderSteps, type StepDraft } from './step-drafts.js';
import type { BackfillPlan, Definition, DerivedObject, Operation, PhaseSteps, Step } from './types.js';

const kind = 'move';
/** Keys per batch in the DO blocks written for other runners (phasectl's engine adapts its own). */
const batchSize = 1000;

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
  targetIndexes: IndexPlan[];
  originalIndexes: IndexPlan[];
  targetConstraints: ConstraintPlan[];
  originalConstraints: ConstraintPlan[];
  notNull: boolean;
  sourceNotNullCheck: string;
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
      ['source schema', source.schema], ['source table', source.table], ['source column', source.column],
      ['target schema', target.schema], ['target table', target.table], ['target column', target.column],
      ...change.move.on.flatMap((pair): Array<[string, string]> => [['join column', pair.from], ['join column', pair.to]]),
      ...change.key.columns.map((name): [string, string] => ['key column', name]),
      ...change.column.indexes.map((index): [string, string] => ['index', index.name]),
      ...change.column.constraints.map((constraint): [string, string] => ['constraint', constraint.name]),
    ],
    where(change),
  );
  if (source.schema === target.schema && source.table === target.table) {
    throw new InputError(`${where(change)}: source and target are the same table`, { hint: 'use a rename for a column inside one table' });
  }
  if (change.move.on.length === 0) {
    throw new InputError(`${where(change)}: no join columns`, { hint: 'give the join as `on: [{ from: id, to: user_id }]`' });
  }
  if (change.key.columns.includes(source.column) || change.move.on.some((pair) => pair.from === source.column || pair.to === target.column)) {
    throw new InputError(`${where(change)}: ${source.column} is part of the key or of the join; a key column cannot be moved`, {
      hint: 'move a column that is neither the key nor a join column',
    });
  }
  const column = change.column;
  const type = `${column.type}${column.collation ? ` COLLATE ${column.collation}` : ''}`;
  const uniqueNames = new Set(column.constraints.filter((c) => c.kind === 'unique').map((c) => c.name));
  const constraints: ConstraintFact[] = [...column.constraints];
  for (const index of column.indexes) {
    if (index.constraint && !uniqueNames.has(index.constraint)) {
      uniqueNames.add(index.constraint);
      constraints.push({ name: index.constraint, kind: 'unique', definition: 'UNIQUE' });
    }
  }
  const rename = (name: string) => movedName(name, source, target);
  // Written as pg_get_indexdef prints a table, so an index found under the name can be compared with it.
  const targetTable = `${quoteIdentLikePostgres(target.schema)}.${quoteIdentLikePostgres(target.table)}`;
  const onTargetColumn = { table: source.table, column: source.column, newName: target.column };
  const targetIndexes = column.indexes.map((index) => {
    const name = rename(index.name);
    const at = `${where(change)}: index ${index.name}`;
    const on = `${targetTable} ${indexMethodAndColumns(indexAfterOn(index.definition, onTargetColumn, at), at)}`;
    return {
      name,
      unique: index.unique,
      on,
      definition: indexDefinition(index.unique, name, on),
      comment: `Index ${index.name} of ${source.table}.${source.column}, rebuilt on ${target.table}.${target.column} without blocking writes.`,
    };
  });
  const originalIndexes = column.indexes.map((index) => ({
    name: index.name,
    unique: index.unique,
    on: indexAfterOn(index.definition, undefined, `${where(change)}: index ${index.name}`),
    definition: index.definition,
    comment: `Index ${index.name} on ${source.table}.${source.column}, as it was before phase 3, built without blocking writes.`,
  }));
  const backingIndex = (constraint: ConstraintFact): IndexFact => {
    const index = column.indexes.find((candidate) => candidate.constraint === constraint.name);
    if (!index) {
      throw new InputError(`${where(change)}: UNIQUE constraint ${constraint.name} has no backing index in the column facts`, {
        hint: 'run `phasectl plan move` again so the indexes are read from the database',
      });
    }
    return index;
  };
  const copy = (constraint: ConstraintFact, onTarget: boolean): ConstraintPlan => {
    const name = onTarget ? rename(constraint.name) : constraint.name;
    if (constraint.kind === 'unique') {
      const index = backingIndex(constraint);
      // A UNIQUE the facts only know through its index ('UNIQUE'): pg_get_constraintdef prints its column.
      const printed = constraint.definition.trim() === 'UNIQUE' ? `UNIQUE (${quoteIdentLikePostgres(source.column)})${deferrability(constraint.definition)}` : constraint.definition;
      return {
        name,
        definition: `UNIQUE USING INDEX ${quoteIdent(onTarget ? rename(index.name) : index.name)}${deferrability(constraint.definition)}`,
        accepted: [onTarget ? constraintOnColumn(printed, onTargetColumn, `${where(change)}: constraint ${constraint.name}`) : printed],
        comment: `UNIQUE constraint ${name} attached to the index built in the previous step (no scan).`,
        validate: false,
      };
    }
    // Only the local side of a foreign key names the moved column (constraintOnColumn keeps the referenced side).
    const definition = onTarget ? constraintOnColumn(constraint.definition, onTargetColumn, `${where(change)}: constraint ${constraint.name}`) : constraint.definition;
    const { body, wasValid } = withoutNotValid(definition);
    return {
      name,
      definition: `${body} NOT VALID`,
      accepted: acceptedConstraintTexts(body),
      comment: onTarget
        ? `Constraint ${constraint.name} copied onto ${target.table}.${target.column}; NOT VALID: checks new writes at once, old rows in the validate step.`
        : `Constraint ${constraint.name} on ${source.table}.${source.column}, as it was before phase 3; NOT VALID now, validated in a later step.`,
      validate: wasValid,
    };
  };
  const sourceNotNullCheck = notNullCheckName(source.table, source.column);
  return {
    change,
    source,
    target,
    type,
    joins: change.move.on.map((pair) => ({ source: pair.from, target: pair.to })),
    targetIndexes,
    originalIndexes,
    // NOT NULL is not copied: a target row may exist without a source row (or before it), so NULL is legitimate there.
    targetConstraints: constraints.map((constraint) => copy(constraint, true)),
    originalConstraints: [
      ...(column.nullable
        ? []
        : [{
            name: sourceNotNullCheck,
            definition: `CHECK (${quoteIdent(source.column)} IS NOT NULL) NOT VALID`,
            accepted: acceptedConstraintTexts(notNullCheckDefinition(source.column)),
            comment: `${source.column} must not be NULL (its NOT NULL, as a check: NOT VALID takes no scan, it is validated later).`,
            validate: true,
          }]),
      ...constraints.map((constraint) => copy(constraint, false)),
    ],
    notNull: !column.nullable,
    sourceNotNullCheck,
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
  };
}

/** The context of one side's function and trigger: `side` is the table the trigger is on, `other` its partner. */
function sideContext(model: MoveModel, which: 'source' | 'target') {
  const onSource = which === 'source';
  const joins: JoinView[] = model.joins.map((pair) => (onSource ? { here: pair.source, there: pair.target } : { here: pair.target, there: pair.source }));
  const side = onSource ? model.source : model.target;
  const other = onSource ? model.target : model.source;
  // The written columns of this side: the moved one and the join columns (a new pairing).
  const written = (row: string) => [side.column, ...joins.map((join) => join.here)].map((name) => `${row}.${quoteIdent(name)}`);
  const sideColumn = (row: string) => `${row}.${quoteIdent(side.column)}`;
  return {
    ...names(model),
    side,
    other,
    joins,
    // Identity comparisons (binary image, NULL = NULL): a change of case or scale is a change.
    nothingWritten: identical(written('NEW'), written('OLD')),
    somethingWritten: differs(written('NEW'), written('OLD')),
    columnWritten: differs(sideColumn('NEW'), sideColumn('OLD')),
    differsFromPartner: differs(sideColumn('NEW'), 'partner_value'),
    partnerDiffers: differs(`o.${quoteIdent(other.column)}`, sideColumn('NEW')),
    functionName: onSource ? model.sourceFunctionName : model.targetFunctionName,
    guardSetting: model.guardSetting,
    lockName: `phasectl.move:${model.change.id}`,
  };
}

/** One side's sync function: version 1 (authority: the source table) or 2 (authority: the target table). */
function syncFunctionSql(model: MoveModel, side: 'source' | 'target', version: 1 | 2, templatesDir?: string): string {
  const authority = version === 1 ? 'source' : 'target';
  return renderTemplate(
    kind,
    'sync-function',
    { ...sideContext(model, side), version: version === 1 ? '01' : '02', authority, sideIsAuthority: side === authority },
    templatesDir,
  ).trimEnd();
}

function triggerSql(model: MoveModel, side: 'source' | 'target', templatesDir?: string): string {
  return renderTemplate(kind, 'trigger', sideContext(model, side), templatesDir).trimEnd();
}

/** Both functions and both triggers of a version, as the templates embed them. */
function syncObjects(model: MoveModel, version: 1 | 2, templatesDir?: string) {
  return {
    sourceFunction: syncFunctionSql(model, 'source', version, templatesDir),
    targetFunction: syncFunctionSql(model, 'target', version, templatesDir),
    sourceTrigger: triggerSql(model, 'source', templatesDir),
    targetTrigger: triggerSql(model, 'target', templatesDir),
  };
}

/** `(s.k1, s.k2) >= (lo…) AND (s.k1, s.k2) <= (hi…)` over the source key, lo/hi given as SQL expressions. */
function keyRange(model: MoveModel, low: string[], high: string[], lowOpen: boolean): string {
  const row = (values: string[]) => (values.length === 1 ? (values[0] as string) : `(${values.join(', ')})`);
  const keyRow = row(model.change.key.columns.map((name) => `s.${quoteIdent(name)}`));
  return `${keyRow} ${lowOpen ? '>' : '>='} ${row(low)} AND ${keyRow} <= ${row(high)}`;
}

function joinCondition(model: MoveModel, sourceAlias: string, targetAlias: string): string {
  return model.joins.map((pair) => `${targetAlias}.${quoteIdent(pair.target)} = ${sourceAlias}.${quoteIdent(pair.source)}`).join(' AND ');
}

/**
 * The batch statements of a move, for a key range given as SQL: `up` copies source → target, `down` target → source.
 * The rows read from the other table are locked FOR SHARE (in the same order the triggers lock: the table written
 * by the application first), so a concurrent write of a pair is waited for and its latest value copied, never a
 * stale one re-applied by PostgreSQL's re-check of a joined UPDATE.
 */
function batchStatements(model: MoveModel, direction: 'up' | 'down', range: string) {
  const sourceTable = qualify(model.source.schema, model.source.table);
  const targetTable = qualify(model.target.schema, model.target.table);
  const sourceColumn = quoteIdent(model.source.column);
  const targetColumn = quoteIdent(model.target.column);
  const join = joinCondition(model, 's', 't');
  const pairColumns = model.joins.map((pair, index) => `s.${quoteIdent(pair.source)} AS j${index + 1}`).join(', ');
  if (direction === 'up') {
    const matchPair = model.joins.map((pair, index) => `t.${quoteIdent(pair.target)} = p.j${index + 1}`).join(' AND ');
    return {
      update:
        `WITH p AS (SELECT ${pairColumns}, s.${sourceColumn} AS value FROM ${sourceTable} AS s JOIN ${targetTable} AS t ON ${join} ` +
        `WHERE ${range} AND ${differs(`t.${targetColumn}`, `s.${sourceColumn}`)} FOR SHARE OF s) ` +
        `UPDATE ${targetTable} AS t SET ${targetColumn} = p.value FROM p WHERE ${matchPair} AND ${differs(`t.${targetColumn}`, 'p.value')}`,
      count: `SELECT pg_catalog.count(*)::bigint AS differing FROM ${sourceTable} AS s JOIN ${targetTable} AS t ON ${join} WHERE ${range} AND ${differs(`t.${targetColumn}`, `s.${sourceColumn}`)}`,
    };
  }
  const matchPair = model.joins.map((pair, index) => `s.${quoteIdent(pair.source)} = p.j${index + 1}`).join(' AND ');
  return {
    update:
      `WITH p AS (SELECT ${pairColumns}, t.${targetColumn} AS value FROM ${sourceTable} AS s JOIN ${targetTable} AS t ON ${join} ` +
      `WHERE ${range} AND ${differs(`s.${sourceColumn}`, `t.${targetColumn}`)} FOR SHARE OF t) ` +
      `UPDATE ${sourceTable} AS s SET ${sourceColumn} = p.value FROM p WHERE ${matchPair} AND ${differs(`s.${sourceColumn}`, 'p.value')}`,
    count: `SELECT pg_catalog.count(*)::bigint AS differing FROM ${sourceTable} AS s JOIN ${targetTable} AS t ON ${join} WHERE ${range} AND ${differs(`s.${sourceColumn}`, `t.${targetColumn}`)}`,
  };
}

/** The engine's plan: it walks the source key; `$1..$k` / `$k+1..$2k` close the batch's range. */
function backfillPlan(model: MoveModel, direction: 'up' | 'down'): BackfillPlan {
  const { columns, types } = model.change.key;
  const params = (offset: number) => types.map((type, i) => `CAST($${offset + i + 1} AS ${type})`);
  const statements = batchStatements(model, direction, keyRange(model, params(0), params(columns.length), false));
  return {
    changeId: model.change.id,
    direction,
    table: { schema: model.source.schema, table: model.source.table },
    keyColumns: [...columns],
    keyTypes: [...types],
    updateSql: statements.update,
    countDifferentSql: statements.count,
    suppressSetting: 'phasectl.backfill',
  };
}

/** Context of the batch-walking DO blocks (backfill, verify): the same statements over plpgsql variables. */
function walkContext(model: MoveModel, direction: 'up' | 'down', description: string) {
  const { columns, types } = model.change.key;
  const keys = columns.map((column, index) => ({ column, type: types[index] ?? 'text', n: index + 1, index }));
  const row = (values: string[]) => (values.length === 1 ? (values[0] as string) : `(${values.join(', ')})`);
  const keyRow = row(columns.map((name) => `s.${quoteIdent(name)}`));
  const low = row(keys.map((key) => `last_key_${key.n}`));
  const high = row(keys.map((key) => `high_key_${key.n}`));
  const range = `(last_key_1 IS NULL OR ${keyRow} > ${low}) AND ${keyRow} <= ${high}`;
  const statements = batchStatements(model, direction, range);
  return {
    schema: model.source.schema,
    table: model.source.table,
    keys,
    keyColumns: columns.map((column) => `t.${quoteIdent(column)}`).join(', '),
    batchSize,
    direction,
    description,
    keyOperatorPath: keyOperatorPathStatement(types),
    batchStatement: statements.update,
    countStatement: `${statements.count.replace(/^SELECT pg_catalog\.count\(\*\)::bigint AS differing/, 'SELECT pg_catalog.count(*)')}`.replace(' FROM ', ' INTO in_batch FROM '),
    suppressSetting: 'phasectl.backfill',
  };
}

/** The verify step's walk: phase 2 checks before the switch, phase 3 again before anything is dropped. */
function verifyContext(model: MoveModel) {
  return walkContext(model, 'up', `Count the pairs of rows where ${label(model.target)} differs from ${label(model.source)} and record the result`);
}

function finishSteps(model: MoveModel, phase: PhaseNumber, direction: 'up' | 'down', drafts: Array<StepDraft | undefined>, settings: GenerationSettings): Step[] {
  return renderSteps({ kind, changeId: model.change.id, names: names(model) }, phase, direction, drafts, settings);
}

/** The context of the generic index/constraint templates: they work on `@root.schema`.`@root.table`. */
function on(table: ColumnRef) {
  return { schema: table.schema, table: table.table };
}

function label(column: ColumnRef): string {
  return `${column.table}.${column.column}`;
}

function phase1(model: MoveModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const from = label(model.source);
  const to = label(model.target);
  const toValidate = model.targetConstraints.filter((constraint) => constraint.validate);
  const up = finishSteps(model, 1, 'up', [
    {
      name: 'expand',
      summary: `add ${to} and keep it in sync with ${from} through triggers on both tables (authority: ${model.source.table})`,
      transaction: true,
      template: 'expand',
      context: { ...syncObjects(model, 1, dir), ...record(model.change.releases, 1) },
    },
    {
      name: 'backfill',
      summary: `copy ${from} into ${to} for existing pairs of rows, in batches`,
      transaction: false,
      action: 'backfill',
      backfill: backfillPlan(model, 'up'),
      scan: true,
      template: 'backfill',
      context: walkContext(model, 'up', `Copy ${from} into ${to} wherever the paired rows differ (a source row without a target row keeps its value until that row appears)`),
    },
    model.targetIndexes.length === 0
      ? undefined
      : { name: 'indexes', summary: `build the indexes of ${from} on ${to}, concurrently`, transaction: false, scan: true, template: 'indexes', context: { ...on(model.target), indexes: model.targetIndexes } },
    model.targetConstraints.length === 0
      ? undefined
      : { name: 'constraints', summary: `copy the constraints of ${from} onto ${to} (NOT VALID: no scan)`, transaction: true, template: 'constraints', context: { ...on(model.target), constraints: model.targetConstraints } },
    toValidate.length === 0
      ? undefined
      : { name: 'validate', summary: `validate the constraints on ${to} (scans, writes continue)`, transaction: true, scan: true, template: 'validate', context: { ...on(model.target), validations: validations(toValidate), notNull: [] } },
  ], settings);
  const down = finishSteps(model, 1, 'down', [
    model.targetConstraints.length === 0
      ? undefined
      : {
          name: 'drop-constraints',
          summary: `drop the constraints phase 1 added on ${to}`,
          transaction: true,
          template: 'drop-constraints',
          context: { ...on(model.target), constraints: model.targetConstraints.map((c) => ({ name: c.name, column: model.target.column, comment: `intended drop: ${c.name}, added by phase 1.` })) },
        },
    model.targetIndexes.length === 0
      ? undefined
      : {
          name: 'drop-indexes',
          summary: `drop the indexes phase 1 built on ${to}, concurrently`,
          transaction: false,
          template: 'drop-indexes',
          context: { ...on(model.target), indexes: model.targetIndexes.map((i) => ({ name: i.name, comment: `intended drop: index ${i.name}, built by phase 1.` })) },
        },
    {
      name: 'unsync',
      summary: `drop the sync trigger on ${model.target.table} (alone: dropping both in one transaction could deadlock with writers)`,
      transaction: true,
      template: 'unsync',
      context: { guarded: false, comment: `intended drop: the trigger phase 1 created on ${model.target.table}.` },
    },
    {
      name: 'shrink',
      summary: model.change.target.existingColumn ? `remove the triggers and sync functions (${to} existed before: it stays)` : `remove the triggers, the sync functions and ${to}`,
      transaction: true,
      template: 'shrink',
      context: { dropTargetColumn: !model.change.target.existingColumn },
    },
  ], settings);
  return { up, down };
}

function phase2(model: MoveModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const from = label(model.source);
  const to = label(model.target);
  const up = finishSteps(model, 2, 'up', [
    verifyStep(model, `count pairs of rows where ${to} differs from ${from} (must be 0 to switch)`),
    {
      name: 'switch',
      summary: `make ${to} the authority of the sync (guarded: backfilled and verified)`,
      transaction: true,
      template: 'switch',
      context: { ...syncObjects(model, 2, dir), ...record(model.change.releases, 2) },
    },
  ], settings);
  const down = finishSteps(model, 2, 'down', [
    { name: 'switch-back', summary: `make ${from} the authority of the sync again`, transaction: true, template: 'switch-back', context: { ...syncObjects(model, 1, dir), ...record(model.change.releases, 1) } },
  ], settings);
  return { up, down };
}

/** The batched verification (phase 2 before the switch, phase 3 before the contract): counts differing rows, records it. */
function verifyStep(model: MoveModel, summary: string): StepDraft {
  return { name: 'verify', summary, transaction: false, action: 'verify', backfill: backfillPlan(model, 'up'), scan: true, template: 'verify', context: verifyContext(model) };
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
    .join(', ')} FROM ${sourceTable} AS s WHERE s.${quoteIdent(model.source.column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${targetTable} AS t WHERE ${joinCondition(model, 's', 't')})`;
  const guard = {
    joins: model.joins.map((pair) => ({ here: pair.source, there: pair.target })),
    strandedHint: `create the missing target rows (the insert trigger copies the value), e.g. ${missingPairs}; or set ${model.source.column} to NULL where the value should go; then migrate again`,
  };
  const up = finishSteps(model, 3, 'up', [
    // Again before anything is dropped: a write the triggers missed would otherwise lose its only copy.
    verifyStep(model, `count pairs of rows where ${to} differs from ${from} again (must be 0 to contract)`),
    {
      name: 'unsync',
      summary: `stop syncing from ${to}: drop its trigger (guarded: phase 2 applied, no value only in ${from})`,
      transaction: true,
      scan: true,
      template: 'unsync',
      context: { ...guard, guarded: true, comment: `intended drop: the sync trigger on ${model.target.table}; ${to} is the authority since phase 2.` },
    },
    {
      name: 'contract',
      summary: `drop the trigger on ${model.source.table}, the sync functions and ${from}${columnDefault === undefined ? '' : `; ${to} takes over the default`}`,
      transaction: true,
      scan: true,
      template: 'contract',
      context: {
        ...guard,
        defaultSql: columnDefault ?? null,
        ...triggerSourceGuard(model.change.id, { schema: model.source.schema, table: model.source.table }, model.source.column, `${model.target.table}.${model.target.column}`),
        ...record(model.change.releases, 3),
      },
    },
  ], settings);
  const originalsToValidate = model.originalConstraints.filter((constraint) => constraint.validate);
  const down = finishSteps(model, 3, 'down', [
    {
      name: 'restore-column',
      summary: `re-add ${from} and sync it from ${to} again (authority: ${model.target.table})`,
      transaction: true,
      template: 'restore-column',
      context: { oldDefaultSql: columnDefault ?? null, ...syncObjects(model, 2, dir), ...record(model.change.releases, 2) },
    },
    {
      name: 'backfill-old',
      summary: `fill ${from} from ${to} for existing pairs of rows, in batches`,
      transaction: false,
      action: 'backfill',
      backfill: backfillPlan(model, 'down'),
      scan: true,
      template: 'backfill',
      context: walkContext(model, 'down', `Fill ${from} from ${to} wherever the paired rows differ`),
    },
    model.originalIndexes.length === 0
      ? undefined
      : { name: 'restore-indexes', summary: `rebuild the original indexes on ${from}, concurrently`, transaction: false, scan: true, template: 'indexes', context: { ...on(model.source), indexes: model.originalIndexes } },
    model.originalConstraints.length === 0
      ? undefined
      : { name: 'restore-constraints', summary: `restore the original constraints on ${from} (NOT VALID: no scan)`, transaction: true, template: 'constraints', context: { ...on(model.source), constraints: model.originalConstraints } },
    originalsToValidate.length === 0
      ? undefined
      : {
          name: 'restore-validate',
          summary: `validate the restored constraints${model.notNull ? ` and make ${from} NOT NULL again` : ''}`,
          transaction: true,
          scan: true,
          template: 'validate',
          context: {
            ...on(model.source),
            validations: validations(originalsToValidate),
            notNull: model.notNull ? [{ column: model.source.column, check: model.sourceNotNullCheck }] : [],
          },
        },
  ], settings);
  return { up, down };
}

/** The objects phase 1 creates under derived names (their names must be free when the change is planned). */
export function moveDerivedObjects(change: MoveChange): DerivedObject[] {
  const model = buildModel(change);
  const target = { schema: model.target.schema, table: model.target.table };
  const source = { schema: model.source.schema, table: model.source.table };
  return [
    ...model.targetIndexes.map((index): DerivedObject => ({ kind: 'index', ...target, name: index.name, about: `the copy of an index of ${model.source.column}` })),
    ...model.targetConstraints.map((constraint): DerivedObject => ({ kind: 'constraint', ...target, name: constraint.name, about: `a constraint of ${model.target.column}`, unique: constraint.definition.startsWith('UNIQUE USING INDEX') })),
    { kind: 'trigger', ...source, name: model.triggerName, about: 'the sync trigger' },
    { kind: 'trigger', ...target, name: model.triggerName, about: 'the sync trigger' },
    { kind: 'function', schema: 'phasectl', table: '', name: model.sourceFunctionName, about: 'the sync function' },
    { kind: 'function', schema: 'phasectl', table: '', name: model.targetFunctionName, about: 'the target sync function' },
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
  definitions(change: MoveChange, settings: GenerationSettings = defaultGenerationSettings): Definition[] {
    const model = buildModel(change);
    const dir = settings.templatesDir;
    const from = label(model.source);
    const to = label(model.target);
    const both = (version: 1 | 2) => `${syncFunctionSql(model, 'source', version, dir)}\n\n${syncFunctionSql(model, 'target', version, dir)}\n`;
    return [
      { folder: 'functions', name: `${change.id}_v01`, summary: `sync functions v01 of change ${change.id} (authority: ${from})`, sql: both(1) },
      { folder: 'functions', name: `${change.id}_v02`, summary: `sync functions v02 of change ${change.id} (authority: ${to})`, sql: both(2) },
      {
        folder: 'triggers',
        name: change.id,
        summary: `sync triggers of change ${change.id} on ${model.source.schema}.${model.source.table} and ${model.target.schema}.${model.target.table}`,
        sql: `${triggerSql(model, 'source', dir)}\n\n${triggerSql(model, 'target', dir)}\n`,
      },
    ];
  },
};
