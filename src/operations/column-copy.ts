/**
 * What rename and move both do to the schema objects of a column: its indexes, UNIQUE constraints (found through
 * their index), CHECK and foreign-key constraints and NOT NULL are copied onto the new column in phase 1 (built
 * concurrently, added NOT VALID, validated), dropped again by phase 1's down, and restored on the old column by
 * phase 3's down. A kind describes its two columns (`ColumnSides`) and says how a copied object is named; the
 * plans and step drafts are built here once for both kinds. Pure.
 */
import { InputError } from '../errors.js';
import { qualify, quoteIdent } from '../render/quote.js';
import type { ColumnFacts, ConstraintFact, DependentFacts, IndexFact } from '../spec/types.js';
import { quoteIdentLikePostgres } from '../sql/parser.js';
import {
  acceptedConstraintTexts,
  constraintOnColumn,
  indexAfterOn,
  indexDefinition,
  indexMethodAndColumns,
  notNullCheckDefinition,
} from './definition-rewrite.js';
import { notNullCheckName } from './naming.js';
import {
  deferrability,
  validations,
  withoutNotValid,
  type CommentSource,
  type ConstraintPlan,
  type IndexPlan,
} from './plan-parts.js';
import type { StepDraft } from './step-drafts.js';
import type { DependentSlots } from '../dependents/dependent-slots.js';
import { indexStepContext } from './partitioned-indexes.js';
import { clusterIndexPairs, identityIndexPairs } from './carried-identity.js';
import type { DerivedObject } from './types.js';

/** One column of a change: where it lives, and how summaries and comments name it (`email`, `users.email`). */
export interface ColumnSide {
  schema: string;
  table: string;
  column: string;
  label: string;
}

/**
 * The two columns of a change, in the terms rename and move share: `original` (the column as it is before the change,
 * dropped by phase 3) and `copy` (the column phase 1 adds and phase 3 keeps). For a rename both are on one table.
 * What else uses the column (views, functions, triggers, foreign keys from other tables) plugs in here too, once for
 * both kinds: `columnCopy` takes its slots (src/dependents/dependent-slots.ts) and the shared step lists splice them in
 * (`copySteps`: phase 1 up; `dropCopySteps`: phase 1 down; `restoreSteps`: phase 3 down; `copiedObjects`), its
 * phase-3 context and guards come with `contractGuards` (contract-guards.ts).
 */
export interface ColumnSides {
  changeId: string;
  original: ColumnSide;
  copy: ColumnSide;
  /** Facts of the original column, as `plan` read them. */
  facts: ColumnFacts;
  /** What else uses the column, as `plan` read it (phases.yaml `dependents:`; absent when planned before it did). */
  dependents?: DependentFacts;
  /** The table is partitioned: its indexes are built per partition and attached (partitioned-indexes.ts). */
  partitioned?: boolean;
}

/** How a kind copies the column's objects: the parts that differ between rename and move. */
export interface CopyRules {
  /** Names the change in errors: `change x (public.users.a → b)`. */
  where: string;
  /** The command that reads the facts again, for the hint of a fact that is missing. */
  planCommand: string;
  /** The name of an index or constraint's copy. */
  copyName(originalName: string): string;
  /** The comment above a copied index's CREATE INDEX. */
  copyIndexComment(index: IndexFact): string;
  /** True when the copy is on another table: its indexes name that table instead of the original's. */
  otherTable: boolean;
  /** True when the copy holds the original's NOT NULL (as a check until phase 3); a move's target may hold NULL. */
  copyNotNull: boolean;
}

/** The plans of a column's objects: their copies on the new column and the originals as phase 3's down restores them. */
export interface ColumnCopy {
  sides: ColumnSides;
  /** What else uses the column: the steps and contract context it adds to the slots below. */
  dependents: DependentSlots;
  notNull: boolean;
  copyIndexes: IndexPlan[];
  originalIndexes: IndexPlan[];
  /** The NOT NULL check on the copy (when `copyNotNull` and the column is NOT NULL) first, then the copied constraints. */
  copyConstraints: ConstraintPlan[];
  /** The NOT NULL check of the copy, on its own: phase 3 turns it into NOT NULL, phase 3's down adds it again. */
  copyNotNullCheck?: ConstraintPlan;
  /** The original's NOT NULL as a check (when NOT NULL) first, then the original constraints. */
  originalConstraints: ConstraintPlan[];
  originalNotNullCheck: string;
}

/** `CHECK (<column> IS NOT NULL) NOT VALID`: a column's NOT NULL as a constraint that is added without a scan. */
function notNullCheck(table: string, column: string): ConstraintPlan {
  return {
    name: notNullCheckName(table, column),
    definition: `CHECK (${quoteIdent(column)} IS NOT NULL) NOT VALID`,
    accepted: acceptedConstraintTexts(notNullCheckDefinition(column)),
    comment: `${column} must not be NULL (its NOT NULL, as a check: NOT VALID takes no scan, it is validated later).`,
    validate: true,
  };
}

/** The column's constraints, plus a UNIQUE constraint for each index that backs one the facts do not list. */
function constraintsWithUniques(facts: ColumnFacts): ConstraintFact[] {
  const listed = new Set(
    facts.constraints.filter((constraint) => constraint.kind === 'unique').map((constraint) => constraint.name),
  );
  const constraints = [...facts.constraints];
  for (const index of facts.indexes) {
    if (index.constraint && !listed.has(index.constraint)) {
      listed.add(index.constraint);
      constraints.push({ name: index.constraint, kind: 'unique', definition: 'UNIQUE' });
    }
  }
  return constraints;
}

/** Builds the index and constraint plans of both columns. Throws InputError for facts it cannot copy. */
export function columnCopy(sides: ColumnSides, rules: CopyRules, dependents: DependentSlots): ColumnCopy {
  const { facts, original, copy } = sides;
  const { where } = rules;
  // The original column's references in its definitions become the copy's (the parser finds them, see definition-rewrite.ts).
  const ontoCopy = { table: original.table, column: original.column, newName: copy.column };
  // Written as pg_get_indexdef prints a table, so an index found under the name can be compared with it.
  const copyTable = `${quoteIdentLikePostgres(copy.schema)}.${quoteIdentLikePostgres(copy.table)}`;

  const copyIndexes = facts.indexes.map((index): IndexPlan => {
    const name = rules.copyName(index.name);
    const at = `${where}: index ${index.name}`;
    const afterOn = indexAfterOn(index.definition, ontoCopy, at);
    const on = rules.otherTable ? `${copyTable} ${indexMethodAndColumns(afterOn, at)}` : afterOn;
    return {
      name,
      unique: index.unique,
      on,
      definition: indexDefinition(index.unique, name, on),
      comment: rules.copyIndexComment(index),
      commentFrom: { index: true, schema: original.schema, name: index.name },
    };
  });
  const originalIndexes = facts.indexes.map((index): IndexPlan => ({
    name: index.name,
    unique: index.unique,
    on: indexAfterOn(index.definition, undefined, `${where}: index ${index.name}`),
    definition: index.definition,
    comment: `Index ${index.name} on ${original.label}, as it was before phase 3, built without blocking writes.`,
    commentFrom: { index: true, schema: copy.schema, name: rules.copyName(index.name) },
  }));

  const backingIndex = (constraint: ConstraintFact): IndexFact => {
    const index = facts.indexes.find((candidate) => candidate.constraint === constraint.name);
    if (!index) {
      throw new InputError(`${where}: UNIQUE constraint ${constraint.name} has no backing index in the column facts`, {
        hint: `run \`${rules.planCommand}\` again so the indexes are read from the database`,
      });
    }
    return index;
  };
  const plan = (constraint: ConstraintFact, onCopy: boolean): ConstraintPlan => {
    const name = onCopy ? rules.copyName(constraint.name) : constraint.name;
    const at = `${where}: constraint ${constraint.name}`;
    // The comment travels with it: phase 1 from the original, phase 3's down back from the copy.
    const from = onCopy ? original : copy;
    const commentFrom: CommentSource = {
      index: false,
      schema: from.schema,
      table: from.table,
      name: onCopy ? constraint.name : rules.copyName(constraint.name),
    };
    if (constraint.kind === 'unique') {
      const index = backingIndex(constraint);
      // A UNIQUE the facts only know through its index ('UNIQUE'): pg_get_constraintdef prints its column.
      const printed =
        constraint.definition.trim() === 'UNIQUE'
          ? `UNIQUE (${quoteIdentLikePostgres(original.column)})${deferrability(constraint.definition)}`
          : constraint.definition;
      return {
        name,
        definition: `UNIQUE USING INDEX ${quoteIdent(onCopy ? rules.copyName(index.name) : index.name)}${deferrability(constraint.definition)}`,
        accepted: [onCopy ? constraintOnColumn(printed, ontoCopy, at) : printed],
        comment: `UNIQUE constraint ${name} attached to the index built in the previous step (no scan).`,
        validate: false,
        commentFrom,
      };
    }
    // Only the local side of a foreign key names the column (constraintOnColumn keeps the referenced side).
    const { body, wasValid } = withoutNotValid(
      onCopy ? constraintOnColumn(constraint.definition, ontoCopy, at) : constraint.definition,
    );
    return {
      name,
      definition: `${body} NOT VALID`,
      accepted: acceptedConstraintTexts(body),
      comment: onCopy
        ? `Constraint ${constraint.name} copied onto ${copy.label}; NOT VALID: checks new writes at once, old rows in the validate step.`
        : `Constraint ${constraint.name} on ${original.label}, as it was before phase 3; NOT VALID now, validated in a later step.`,
      validate: wasValid,
      commentFrom,
    };
  };

  const notNull = !facts.nullable;
  const constraints = constraintsWithUniques(facts);
  const copyNotNullCheck = notNull && rules.copyNotNull ? notNullCheck(copy.table, copy.column) : undefined;
  const originalNotNullCheck = notNullCheck(original.table, original.column);
  return {
    sides,
    dependents,
    notNull,
    copyIndexes,
    originalIndexes,
    copyConstraints: [
      ...(copyNotNullCheck ? [copyNotNullCheck] : []),
      ...constraints.map((constraint) => plan(constraint, true)),
    ],
    ...(copyNotNullCheck ? { copyNotNullCheck } : {}),
    originalConstraints: [
      ...(notNull ? [originalNotNullCheck] : []),
      ...constraints.map((constraint) => plan(constraint, false)),
    ],
    originalNotNullCheck: originalNotNullCheck.name,
  };
}

/** The table the shared index/constraint templates work on (`@root.schema`.`@root.table`). */
function on(side: ColumnSide): { schema: string; table: string } {
  return { schema: side.schema, table: side.table };
}

/** Phase 1 up, after the backfill: build the copy's indexes, add its constraints NOT VALID, validate them; then the dependents' steps. */
export function copySteps(copy: ColumnCopy): Array<StepDraft | undefined> {
  const from = copy.sides.original.label;
  const to = copy.sides.copy.label;
  const target = on(copy.sides.copy);
  const toValidate = copy.copyConstraints.filter((constraint) => constraint.validate);
  return [
    copy.copyIndexes.length === 0
      ? undefined
      : {
          name: 'indexes',
          summary: `build the indexes of ${from} on ${to}, concurrently`,
          transaction: false,
          scan: true,
          template: 'indexes',
          context: { ...target, ...indexStepContext(copy.sides.partitioned, copy.copyIndexes, from) },
        },
    copy.copyConstraints.length === 0
      ? undefined
      : {
          name: 'constraints',
          summary: `copy the constraints of ${from} onto ${to} (NOT VALID: no scan)`,
          transaction: true,
          template: 'constraints',
          context: { ...target, constraints: copy.copyConstraints },
        },
    toValidate.length === 0
      ? undefined
      : {
          name: 'validate',
          summary: `validate the constraints on ${to} (scans, writes continue)`,
          transaction: true,
          scan: true,
          template: 'validate',
          context: { ...target, validations: validations(toValidate), notNull: [] },
        },
    ...copy.dependents.copy,
  ];
}

/** Phase 1 down, first: drop what `copySteps` added (the dependents' first, then constraints, then indexes, concurrently). */
export function dropCopySteps(copy: ColumnCopy): Array<StepDraft | undefined> {
  const side = copy.sides.copy;
  const target = on(side);
  return [
    ...copy.dependents.dropCopy,
    copy.copyConstraints.length === 0
      ? undefined
      : {
          name: 'drop-constraints',
          summary: `drop the constraints phase 1 added on ${side.label}`,
          transaction: true,
          template: 'drop-constraints',
          context: {
            ...target,
            constraints: copy.copyConstraints.map((c) => ({
              name: c.name,
              column: side.column,
              comment: `intended drop: ${c.name}, added by phase 1.`,
            })),
          },
        },
    copy.copyIndexes.length === 0
      ? undefined
      : {
          name: 'drop-indexes',
          // A partitioned index cannot be dropped concurrently (catalog only: templates/shared/drop-index.hbs).
          summary: `drop the indexes phase 1 built on ${side.label}${copy.sides.partitioned ? '' : ', concurrently'}`,
          transaction: false,
          template: 'drop-indexes',
          context: {
            ...target,
            ...(copy.sides.partitioned ? { partitioned: true } : {}),
            identityHint: copyIdentityHint(copy),
            indexes: copy.copyIndexes.map((i) => ({
              name: i.name,
              comment: `intended drop: index ${i.name}, built by phase 1.`,
            })),
          },
        },
  ];
}

/**
 * The start of the drop-indexes guard's hint (templates/shared/drop-indexes.sql.hbs), for a replica identity pointed at
 * one of phase 1's copies: the old column's unique indexes that can be the identity again (a rename's, see
 * identityIndexPairs), then the template adds `REPLICA IDENTITY DEFAULT` for the table it found.
 */
function copyIdentityHint(copy: ColumnCopy): string {
  const { schema, table } = copy.sides.original;
  const usingIndex = identityIndexPairs(copy).map(
    (pair) => `ALTER TABLE ${qualify(schema, table)} REPLICA IDENTITY USING INDEX ${quoteIdent(pair.original)}; or `,
  );
  return `point the identity elsewhere first, after checking which key your subscribers and CDC consumers expect: ${usingIndex.join('')}`;
}

/**
 * Phase 3 down, after the old column is back and filled: rebuild its indexes, restore its constraints NOT VALID,
 * validate them and make it NOT NULL again. `alsoValidate`: checks of the kind's own to validate in the same step.
 */
export function restoreSteps(
  copy: ColumnCopy,
  alsoValidate: Array<{ name: string; comment: string }> = [],
  /** More context of the restore-validate step (a rename's replica identity, given back: replica-identity-back.hbs). */
  validateContext: Record<string, unknown> = {},
): Array<StepDraft | undefined> {
  const side = copy.sides.original;
  const source = on(side);
  const toValidate = copy.originalConstraints.filter((constraint) => constraint.validate);
  return [
    ...copy.dependents.restoreFirst,
    copy.originalIndexes.length === 0
      ? undefined
      : {
          name: 'restore-indexes',
          summary: `rebuild the original indexes on ${side.label}, concurrently`,
          transaction: false,
          scan: true,
          template: 'indexes',
          context: {
            ...source,
            ...indexStepContext(copy.sides.partitioned, copy.originalIndexes, side.label),
            // The CLUSTER index phase 3 moved to a copy comes back (carry-cluster-index.hbs).
            clusterIndexes: clusterIndexPairs(copy),
            clusterBack: true,
          },
        },
    copy.originalConstraints.length === 0
      ? undefined
      : {
          name: 'restore-constraints',
          summary: `restore the original constraints on ${side.label} (NOT VALID: no scan)`,
          transaction: true,
          template: 'constraints',
          context: { ...source, constraints: copy.originalConstraints },
        },
    toValidate.length === 0 && alsoValidate.length === 0
      ? undefined
      : {
          name: 'restore-validate',
          summary: `validate the restored constraints${copy.notNull ? ` and make ${side.label} NOT NULL again` : ''}`,
          transaction: true,
          scan: true,
          template: 'validate',
          context: {
            ...source,
            validations: [...validations(toValidate), ...alsoValidate],
            notNull: copy.notNull ? [{ column: side.column, check: copy.originalNotNullCheck }] : [],
            ...validateContext,
          },
        },
    ...copy.dependents.restore,
  ];
}

/** The copies phase 1 creates under derived names (their names must be free when the change is planned). */
export function copiedObjects(copy: ColumnCopy): DerivedObject[] {
  const { original, copy: side } = copy.sides;
  const target = on(side);
  return [
    ...copy.copyIndexes.map((index): DerivedObject => ({
      kind: 'index',
      ...target,
      name: index.name,
      about: `the copy of an index of ${original.column}`,
    })),
    ...copy.copyConstraints.map((constraint): DerivedObject => ({
      kind: 'constraint',
      ...target,
      name: constraint.name,
      about: `a constraint of ${side.column}`,
      unique: constraint.definition.startsWith('UNIQUE USING INDEX'),
    })),
    ...copy.dependents.derivedObjects,
  ];
}
