import { InputError } from '../errors.js';
import { triggerSourceGuard } from './column-mention.js';
import { refuseControlCharacters } from './name-guard.js';
import { renderTemplate } from '../render/environment.js';
import { qualify, quoteIdent } from '../render/quote.js';
import type { ConstraintFact, IndexFact, PhaseNumber, RenameChange } from '../spec/types.js';
import { defaultGenerationSettings, type GenerationSettings } from './settings.js';
import { keyOperatorPathStatement } from '../backfill/key-operators.js';
import { differs, identical } from './identity.js';
import { derivedName, insertTriggerName, notNullCheckName, syncFunctionName, triggerName } from './naming.js';
import { mentionsColumn, replaceColumnReference } from './sql-identifiers.js';
import { quoteIdentLikePostgres } from '../sql/parser.js';
import { acceptedConstraintTexts, constraintOnColumn, indexAfterOn, indexDefinition, notNullCheckDefinition } from './definition-rewrite.js';
import { deferrability, record, validations, withoutNotValid, type ConstraintPlan, type IndexPlan } from './plan-parts.js';
import { renderSteps, type StepDraft } from './step-drafts.js';
import type { BackfillPlan, Definition, DerivedObject, Operation, PhaseSteps, Step } from './types.js';
import { renameDependents, viewContractContext, viewRestoreStep, type DependentsPlan } from '../dependents/views.js';

const kind = 'rename';
/** Keys per batch in the DO blocks written for other runners (phasectl's engine adapts its own). */
const batchSize = 1000;

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
  /** No conversion: up and down are the column itself. */
  identity: boolean;
  /** The old column is NOT NULL: the new one carries a NOT NULL check until phase 3. */
  notNull: boolean;
  newNotNullCheck: string;
  oldNotNullCheck: string;
  newIndexes: IndexPlan[];
  originalIndexes: IndexPlan[];
  newConstraints: ConstraintPlan[];
  originalConstraints: ConstraintPlan[];
  functionName: string;
  triggerName: string;
  /** Views and virtual generated columns that read the column: re-pointed in phase 3. */
  dependents: DependentsPlan;
}

/** Every name of a rename that the generated SQL mentions, with its role, for the control-character guard. */
function namesOf(change: RenameChange): Array<[string, string]> {
  const { schema, table, from, to } = change.rename;
  return [
    ['schema', schema], ['table', table], ['from', from], ['to', to],
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
  if (!/^[a-z0-9][a-z0-9-]*$/.test(change.id)) {
    throw new InputError(`change id ${JSON.stringify(change.id)} is not valid`, { hint: 'use lower-case letters, digits and -' });
  }
  refuseControlCharacters(namesOf(change), where);
  if (from === to) throw new InputError(`${where}: the new name equals the old one`, { hint: 'choose a different `to` name' });
  if (change.key.columns.length === 0) {
    throw new InputError(`${where}: no key to walk for the backfill`, {
      hint: `add a primary key (or a unique NOT NULL column) to ${schema}.${table}, then run \`phasectl plan\` again`,
    });
  }
  if (change.key.columns.includes(from)) {
    throw new InputError(`${where}: ${from} is part of the key the backfill walks; renaming a key column is not supported`, {
      hint: `give ${schema}.${table} another unique NOT NULL key, or rename the key column in a maintenance window`,
    });
  }
  const column = change.column;
  const collate = column.collation ? ` COLLATE ${column.collation}` : '';
  const oldType = `${column.type}${collate}`;
  const typeChanges = change.rename.type !== undefined && change.rename.type !== column.type;
  const newType = typeChanges ? (change.rename.type as string) : oldType;
  const bareNewType = change.rename.type ?? column.type;
  const upExpression = change.rename.up;
  const downExpression = change.rename.down;
  if (upExpression !== undefined && !mentionsColumn(upExpression, from)) {
    throw new InputError(`${where}: the up expression ${JSON.stringify(upExpression)} does not use the column ${from}`, {
      hint: `write it in terms of the old column, e.g. CAST(${quoteIdent(from)} AS ${bareNewType})`,
    });
  }
  if (downExpression !== undefined && !mentionsColumn(downExpression, to)) {
    throw new InputError(`${where}: the down expression ${JSON.stringify(downExpression)} does not use the column ${to}`, {
      hint: `write it in terms of the new column, e.g. CAST(${quoteIdent(to)} AS ${column.type})`,
    });
  }
  // A user expression is always parenthesized where it is embedded: `CASE … THEN … END` after `IS DISTINCT FROM` in a
  // plpgsql IF would otherwise end the condition at the CASE's first THEN.
  const up = (value: string) =>
    upExpression !== undefined ? `(${replaceColumnReference(upExpression, from, value)})` : typeChanges ? `CAST(${value} AS ${bareNewType})` : value;
  const down = (value: string) =>
    downExpression !== undefined ? `(${replaceColumnReference(downExpression, to, value)})` : typeChanges ? `CAST(${value} AS ${column.type})` : value;
  const upTyped = (value: string) => (upExpression !== undefined ? `CAST(${up(value)} AS ${bareNewType})` : up(value));
  const downTyped = (value: string) => (downExpression !== undefined ? `CAST(${down(value)} AS ${column.type})` : down(value));

  const uniqueConstraints = new Map(column.constraints.filter((c) => c.kind === 'unique').map((c) => [c.name, c]));
  // An index backing a UNIQUE constraint the facts do not list is still that constraint.
  const constraints: ConstraintFact[] = [...column.constraints];
  for (const index of column.indexes) {
    if (index.constraint && !uniqueConstraints.has(index.constraint)) {
      const synthesized: ConstraintFact = { name: index.constraint, kind: 'unique', definition: 'UNIQUE' };
      uniqueConstraints.set(index.constraint, synthesized);
      constraints.push(synthesized);
    }
  }
  const backingIndex = (constraint: ConstraintFact): IndexFact => {
    const index = column.indexes.find((candidate) => candidate.constraint === constraint.name);
    if (!index) {
      throw new InputError(`${where}: UNIQUE constraint ${constraint.name} has no backing index in the column facts`, {
        hint: 'run `phasectl plan` again so the indexes are read from the database',
      });
    }
    return index;
  };

  const onNewColumn = { table, column: from, newName: to };
  const newIndexes = column.indexes.map((index) => {
    const name = derivedName(index.name, from, to);
    const on = indexAfterOn(index.definition, onNewColumn, `${where}: index ${index.name}`);
    return {
      name,
      unique: index.unique,
      on,
      definition: indexDefinition(index.unique, name, on),
      comment: `Index ${index.name} rebuilt on ${to}${index.constraint ? ` (it becomes constraint ${derivedName(index.constraint, from, to)})` : ''}, without blocking writes.`,
    };
  });
  const originalIndexes = column.indexes.map((index) => ({
    name: index.name,
    unique: index.unique,
    on: indexAfterOn(index.definition, undefined, `${where}: index ${index.name}`),
    definition: index.definition,
    comment: `Index ${index.name} on ${from}, as it was before phase 3, built without blocking writes.`,
  }));

  const newNotNullCheck = notNullCheckName(table, to);
  const oldNotNullCheck = notNullCheckName(table, from);
  const copy = (constraint: ConstraintFact, target: 'new' | 'original'): ConstraintPlan => {
    const name = target === 'new' ? derivedName(constraint.name, from, to) : constraint.name;
    if (constraint.kind === 'unique') {
      const index = backingIndex(constraint);
      const indexName = target === 'new' ? derivedName(index.name, from, to) : index.name;
      // A UNIQUE the facts only know through its index ('UNIQUE'): pg_get_constraintdef prints its column.
      const printed = constraint.definition.trim() === 'UNIQUE' ? `UNIQUE (${quoteIdentLikePostgres(from)})${deferrability(constraint.definition)}` : constraint.definition;
      return {
        name,
        definition: `UNIQUE USING INDEX ${quoteIdent(indexName)}${deferrability(constraint.definition)}`,
        accepted: [target === 'new' ? constraintOnColumn(printed, onNewColumn, `${where}: constraint ${constraint.name}`) : printed],
        comment: `UNIQUE constraint ${name} attached to the index built in the previous step (no scan).`,
        validate: false,
      };
    }
    const { body, wasValid } = withoutNotValid(
      target === 'new' ? constraintOnColumn(constraint.definition, onNewColumn, `${where}: constraint ${constraint.name}`) : constraint.definition,
    );
    return {
      name,
      definition: `${body} NOT VALID`,
      accepted: acceptedConstraintTexts(body),
      comment:
        target === 'new'
          ? `Constraint ${constraint.name} copied onto ${to}; NOT VALID: checks new writes at once, old rows in the validate step.`
          : `Constraint ${constraint.name} on ${from}, as it was before phase 3; NOT VALID now, validated in a later step.`,
      validate: wasValid,
    };
  };
  const notNullCheck = (name: string, columnName: string): ConstraintPlan => ({
    name,
    definition: `CHECK (${quoteIdent(columnName)} IS NOT NULL) NOT VALID`,
    accepted: acceptedConstraintTexts(notNullCheckDefinition(columnName)),
    comment: `${columnName} must not be NULL (its NOT NULL, as a check: NOT VALID takes no scan, it is validated later).`,
    validate: true,
  });
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
    identity: upExpression === undefined && downExpression === undefined && !typeChanges,
    notNull: !column.nullable,
    newNotNullCheck,
    oldNotNullCheck,
    newIndexes,
    originalIndexes,
    newConstraints: [
      ...(column.nullable ? [] : [notNullCheck(newNotNullCheck, to)]),
      ...constraints.map((constraint) => copy(constraint, 'new')),
    ],
    originalConstraints: [
      ...(column.nullable ? [] : [notNullCheck(oldNotNullCheck, from)]),
      ...constraints.map((constraint) => copy(constraint, 'original')),
    ],
    functionName: syncFunctionName(change.id),
    triggerName: triggerName(change.id),
    dependents: renameDependents(change, where),
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
      toUnchanged: identical(`NEW.${quoteIdent(model.to)}`, `OLD.${quoteIdent(model.to)}`),
      fromChanged: differs(`NEW.${quoteIdent(model.from)}`, `OLD.${quoteIdent(model.from)}`),
      fromUnchanged: identical(`NEW.${quoteIdent(model.from)}`, `OLD.${quoteIdent(model.from)}`),
      toDiffersFromOld: differs(`NEW.${quoteIdent(model.to)}`, model.upTyped(`NEW.${quoteIdent(model.from)}`)),
    },
    templatesDir,
  ).trimEnd();
}

function triggerSql(model: RenameModel, templatesDir?: string): string {
  const column = (row: string, name: string) => `${row}.${quoteIdent(name)}`;
  return renderTemplate(
    kind,
    'trigger',
    {
      ...names(model),
      newDiffers: differs(column('NEW', model.to), column('NEW', model.from)),
      eitherChanged: differs([column('NEW', model.from), column('NEW', model.to)], [column('OLD', model.from), column('OLD', model.to)]),
    },
    templatesDir,
  ).trimEnd();
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
    functionName: model.functionName,
    triggerName: model.triggerName,
    insertTriggerName: insertTriggerName(model.change.id),
  };
}

/** Text `$1..$k` / `$k+1..$2k` range over the key, for the batched engine (closed on both ends). */
function keyRange(model: RenameModel): string {
  const { columns, types } = model.change.key;
  const row = (values: string[]) => (values.length === 1 ? (values[0] as string) : `(${values.join(', ')})`);
  const keyRow = row(columns.map((name) => `t.${quoteIdent(name)}`));
  const params = (offset: number) => row(types.map((type, i) => `CAST($${offset + i + 1} AS ${type})`));
  return `${keyRow} >= ${params(0)} AND ${keyRow} <= ${params(columns.length)}`;
}

function backfillPlan(model: RenameModel, direction: 'up' | 'down'): BackfillPlan {
  const target = direction === 'up' ? model.to : model.from;
  const source = direction === 'up' ? model.up(`t.${quoteIdent(model.from)}`) : model.down(`t.${quoteIdent(model.to)}`);
  const table = qualify(model.schema, model.table);
  const differing = differsFromSource(model, direction);
  return {
    changeId: model.change.id,
    direction,
    table: { schema: model.schema, table: model.table },
    keyColumns: [...model.change.key.columns],
    keyTypes: [...model.change.key.types],
    updateSql: `UPDATE ${table} AS t SET ${quoteIdent(target)} = ${source} WHERE ${keyRange(model)} AND ${differing}`,
    countDifferentSql: `SELECT pg_catalog.count(*)::bigint AS differing FROM ${table} AS t WHERE ${keyRange(model)} AND ${differing}`,
    suppressSetting: 'phasectl.backfill',
  };
}

/** The backfill's (and verify's) filter: the target column differs by identity from what the source gives. */
function differsFromSource(model: RenameModel, direction: 'up' | 'down'): string {
  return direction === 'up'
    ? differs(`t.${quoteIdent(model.to)}`, model.upTyped(`t.${quoteIdent(model.from)}`))
    : differs(`t.${quoteIdent(model.from)}`, model.downTyped(`t.${quoteIdent(model.to)}`));
}

/** Context of the batch-walking DO blocks (backfill, verify). */
function walkContext(model: RenameModel, direction: 'up' | 'down') {
  const { columns, types } = model.change.key;
  return {
    keys: columns.map((column, index) => ({ column, type: types[index] ?? 'text', n: index + 1, index })),
    keyColumns: columns.map((column) => `t.${quoteIdent(column)}`).join(', '),
    batchSize,
    direction,
    target: direction === 'up' ? model.to : model.from,
    source: direction === 'up' ? model.up(`t.${quoteIdent(model.from)}`) : model.down(`t.${quoteIdent(model.to)}`),
    sourceLine: oneLine(direction === 'up' ? model.up(`t.${quoteIdent(model.from)}`) : model.down(`t.${quoteIdent(model.to)}`)),
    differs: differsFromSource(model, direction),
    keyOperatorPath: keyOperatorPathStatement(types),
    suppressSetting: 'phasectl.backfill',
  };
}

function finishSteps(model: RenameModel, phase: PhaseNumber, direction: 'up' | 'down', drafts: Array<StepDraft | undefined>, settings: GenerationSettings): Step[] {
  return renderSteps({ kind, changeId: model.change.id, names: names(model) }, phase, direction, drafts, settings);
}

function phase1(model: RenameModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const { from, to } = model;
  const toValidate = model.newConstraints.filter((constraint) => constraint.validate);
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
        context: { newType: model.newType, syncFunction: syncFunctionSql(model, 1, dir), trigger: triggerSql(model, dir), ...record(model.change.releases, 1) },
      },
      {
        name: 'backfill',
        summary: `copy ${from} into ${to} for existing rows, in batches`,
        transaction: false,
        action: 'backfill',
        backfill: backfillPlan(model, 'up'),
        scan: true,
        template: 'backfill',
        context: walkContext(model, 'up'),
      },
      model.newIndexes.length === 0
        ? undefined
        : {
            name: 'indexes',
            summary: `build the indexes of ${from} on ${to}, concurrently`,
            transaction: false,
            scan: true,
            template: 'indexes',
            context: { indexes: model.newIndexes },
          },
      model.newConstraints.length === 0
        ? undefined
        : {
            name: 'constraints',
            summary: `copy the constraints of ${from} onto ${to} (NOT VALID: no scan)`,
            transaction: true,
            template: 'constraints',
            context: { constraints: model.newConstraints },
          },
      toValidate.length === 0
        ? undefined
        : {
            name: 'validate',
            summary: `validate the constraints on ${to} (scans, writes continue)`,
            transaction: true,
            scan: true,
            template: 'validate',
            context: { validations: validations(toValidate), notNull: [] },
          },
    ],
    settings,
  );
  const down = finishSteps(
    model,
    1,
    'down',
    [
      model.newConstraints.length === 0
        ? undefined
        : {
            name: 'drop-constraints',
            summary: `drop the constraints phase 1 added on ${to}`,
            transaction: true,
            template: 'drop-constraints',
            context: {
              constraints: model.newConstraints.map((c) => ({ name: c.name, column: model.to, comment: `intended drop: ${c.name}, added by phase 1.` })),
            },
          },
      model.newIndexes.length === 0
        ? undefined
        : {
            name: 'drop-indexes',
            summary: `drop the indexes phase 1 built on ${to}, concurrently`,
            transaction: false,
            template: 'drop-indexes',
            context: {
              indexes: model.newIndexes.map((i) => ({ name: i.name, comment: `intended drop: index ${i.name}, built by phase 1.` })),
            },
          },
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
  const up = finishSteps(
    model,
    2,
    'up',
    [
      verifyStep(model, `count rows where ${to(model)} differs from ${model.from} (must be 0 to switch)`),
      {
        name: 'switch',
        summary: `make ${to(model)} the authority of the sync (guarded: backfilled and verified)`,
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
        summary: `make ${model.from} the authority of the sync again`,
        transaction: true,
        template: 'switch-back',
        context: { syncFunction: syncFunctionSql(model, 1, dir), ...record(model.change.releases, 1) },
      },
    ],
    settings,
  );
  return { up, down };
}

function to(model: RenameModel): string {
  return model.to;
}

/** The batched verification (phase 2 before the switch, phase 3 before the contract): counts differing rows, records it. */
function verifyStep(model: RenameModel, summary: string): StepDraft {
  return { name: 'verify', summary, transaction: false, action: 'verify', backfill: backfillPlan(model, 'up'), scan: true, template: 'verify', context: walkContext(model, 'up') };
}

function phase3(model: RenameModel, settings: GenerationSettings): PhaseSteps {
  const dir = settings.templatesDir;
  const { from } = model;
  const columnDefault = model.change.column.default;
  const newNotNull = model.notNull ? [{ name: model.newNotNullCheck, comment: `Validate ${model.newNotNullCheck} (already validated in phase 1: no scan).` }] : [];
  const up = finishSteps(
    model,
    3,
    'up',
    [
      // Again before anything is dropped: a write the trigger missed would otherwise lose its only copy.
      verifyStep(model, `count rows where ${to(model)} differs from ${model.from} again (must be 0 to contract)`),
      {
        name: 'contract',
        summary: `drop the trigger, the sync function and ${from}; ${to(model)} takes over NOT NULL and the default`,
        transaction: true,
        template: 'contract',
        context: {
          validations: newNotNull,
          notNull: model.notNull ? [{ column: model.to, check: model.newNotNullCheck }] : [],
          defaultSql: columnDefault === undefined ? null : model.up(`(${columnDefault})`),
          ...triggerSourceGuard(model.change.id, { schema: model.schema, table: model.table }, model.from, model.to),
          ...viewContractContext(model.change, model.dependents),
          ...record(model.change.releases, 3),
        },
      },
    ],
    settings,
  );
  const originalsToValidate = model.originalConstraints.filter((constraint) => constraint.validate);
  const down = finishSteps(
    model,
    3,
    'down',
    [
      {
        name: 'restore-column',
        summary: `re-add ${from} and sync it from ${to(model)} again (authority: ${to(model)})`,
        transaction: true,
        template: 'restore-column',
        context: {
          oldType: model.oldType,
          oldDefaultSql: columnDefault ?? null,
          constraints: model.notNull
            ? [{ ...model.newConstraints[0], comment: `${to(model)} must not be NULL, held by a check again as in phase 2.` }]
            : [],
          syncFunction: syncFunctionSql(model, 2, dir),
          trigger: triggerSql(model, dir),
          ...record(model.change.releases, 2),
        },
      },
      {
        name: 'backfill-old',
        summary: `fill ${from} from ${to(model)} for existing rows, in batches`,
        transaction: false,
        action: 'backfill',
        backfill: backfillPlan(model, 'down'),
        scan: true,
        template: 'backfill',
        context: walkContext(model, 'down'),
      },
      viewRestoreStep(model.dependents, from),
      model.originalIndexes.length === 0
        ? undefined
        : {
            name: 'restore-indexes',
            summary: `rebuild the original indexes on ${from}, concurrently`,
            transaction: false,
            scan: true,
            template: 'indexes',
            context: { indexes: model.originalIndexes },
          },
      model.originalConstraints.length === 0
        ? undefined
        : {
            name: 'restore-constraints',
            summary: `restore the original constraints on ${from} (NOT VALID: no scan)`,
            transaction: true,
            template: 'constraints',
            context: { constraints: model.originalConstraints },
          },
      originalsToValidate.length === 0 && newNotNull.length === 0
        ? undefined
        : {
            name: 'restore-validate',
            summary: `validate the restored constraints${model.notNull ? ` and make ${from} NOT NULL again` : ''}`,
            transaction: true,
            scan: true,
            template: 'validate',
            context: {
              validations: [...validations(originalsToValidate), ...newNotNull],
              notNull: model.notNull ? [{ column: from, check: model.oldNotNullCheck }] : [],
            },
          },
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
    ...model.newIndexes.map((index): DerivedObject => ({ kind: 'index', ...on, name: index.name, about: `the copy of an index of ${model.from}` })),
    ...model.newConstraints.map((constraint): DerivedObject => ({ kind: 'constraint', ...on, name: constraint.name, about: `a constraint of ${model.to}`, unique: constraint.definition.startsWith('UNIQUE USING INDEX') })),
    { kind: 'trigger', ...on, name: model.triggerName, about: 'the sync trigger' },
    { kind: 'function', schema: 'phasectl', table: '', name: model.functionName, about: 'the sync function' },
  ];
}

/** Renames a column (optionally changing its type) in three phases: expand, switch, contract. */
export const renameOperation: Operation<RenameChange> = {
  kind: 'rename',
  steps(change: RenameChange, phase: PhaseNumber, settings: GenerationSettings = defaultGenerationSettings): PhaseSteps {
    const model = buildModel(change);
    if (phase === 1) return phase1(model, settings);
    if (phase === 2) return phase2(model, settings);
    return phase3(model, settings);
  },
  definitions(change: RenameChange, settings: GenerationSettings = defaultGenerationSettings): Definition[] {
    const model = buildModel(change);
    const dir = settings.templatesDir;
    return [
      { folder: 'functions', name: `${change.id}_v01`, summary: `sync function v01 of change ${change.id} (authority: ${model.from})`, sql: `${syncFunctionSql(model, 1, dir)}\n` },
      { folder: 'functions', name: `${change.id}_v02`, summary: `sync function v02 of change ${change.id} (authority: ${model.to})`, sql: `${syncFunctionSql(model, 2, dir)}\n` },
      { folder: 'triggers', name: change.id, summary: `sync triggers of change ${change.id} on ${model.schema}.${model.table}`, sql: `${triggerSql(model, dir)}\n` },
    ];
  },
};

/**
 * The conversions the generated SQL applies (`up`: old value → new, `down`: new value → old) and the two
 * column types, for plan's round-trip check over the existing rows (src/catalog/round-trip.ts).
 */
export function renameConversions(change: RenameChange): { up: (value: string) => string; down: (value: string) => string; oldType: string; newType: string } {
  const model = buildModel(change);
  return { up: model.up, down: model.down, oldType: change.column.type, newType: change.rename.type ?? change.column.type };
}
