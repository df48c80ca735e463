/**
 * What phase 3 of a rename does to the views and virtual generated columns that read the column: re-points them
 * at the new column inside the contract transaction (after a guard that they are as `plan` recorded them), and
 * what its down does to put them back exactly. Facts in, template contexts out. Pure.
 */
import { createHash } from 'node:crypto';
import { InputError } from '../errors.js';
import { quoteIdent, quoteLiteral } from '../render/quote.js';
import { replaceColumnInExpression, SqlParseError } from '../sql/parser.js';
import type { GeneratedColumnFact, RenameChange, ViewFact } from '../spec/types.js';
import { repointViewQuery } from './view-rewrite.js';
import { VIEW_FINGERPRINT_SQL } from './view-fingerprint.js';

/** One view as the templates write it: `CREATE OR REPLACE VIEW schema.name WITH (options) AS query`. */
export interface ViewDefinition {
  schema: string;
  name: string;
  /** `name = 'value'` items of the WITH list; empty: the view has no options. */
  options: string[];
  query: string;
  comment: string;
}

/** One virtual generated column as the templates write it: `ALTER COLUMN name SET EXPRESSION AS (expression)`. */
export interface GeneratedExpression {
  name: string;
  expression: string;
  comment: string;
}

/** The contexts of phase 3 (guard, re-pointed views and expressions) and of its down (the originals). */
export interface DependentsPlan {
  /** For templates/shared/guard-views.hbs: what the guard compares. */
  recordedViews: Array<{ schema: string; name: string; fingerprint: string }>;
  repointedViews: ViewDefinition[];
  originalViews: ViewDefinition[];
  repointedGenerated: GeneratedExpression[];
  originalGenerated: GeneratedExpression[];
}

/** The fingerprint `plan` records: md5 of the definition, a line break and the options joined by `,` (VIEW_FINGERPRINT_SQL). */
export function viewFingerprint(view: Pick<ViewFact, 'definition' | 'options'>): string {
  return createHash('md5')
    .update(`${view.definition}\n${(view.options ?? []).join(',')}`, 'utf8')
    .digest('hex');
}

/**
 * The views and virtual generated columns of a rename, re-pointed from `from` to `to`. Refuses (InputError) a
 * record edited by hand, a type change (the view's or expression's output type would change), and a view the
 * parser cannot re-point safely.
 */
export function renameDependents(change: RenameChange, where: string): DependentsPlan {
  const { schema, table, from, to } = change.rename;
  const views = change.dependents?.views ?? [];
  const generated = change.dependents?.generated ?? [];
  const typeChanges = change.rename.type !== undefined && change.rename.type !== change.column.type;
  if (typeChanges && (views.length > 0 || generated.length > 0)) {
    const users = [
      ...views.map((view) => `view ${view.schema}.${view.name}`),
      ...generated.map((column) => `generated column ${column.name}`),
    ].join(', ');
    throw new InputError(
      `${where}: ${users} read(s) ${from}; re-pointed at ${to} of type ${change.rename.type}, their output type would change`,
      {
        hint: `rename without changing the type (then change the type in a second change), or re-create those objects on ${to} yourself after phase 1`,
      },
    );
  }
  for (const view of views) {
    if (viewFingerprint(view) !== view.fingerprint) {
      throw new InputError(
        `${where}: the record of view ${view.schema}.${view.name} in phases.yaml does not match its fingerprint (edited by hand?)`,
        {
          hint: `read it again from the database: \`phasectl plan refresh ${change.id}\``,
        },
      );
    }
  }
  const repointedViews = views.map((view) => ({
    ...viewDefinition(view, repoint(view, { schema, table, column: from, newName: to }, where)),
    comment: `View ${view.schema}.${view.name} read ${from}: re-pointed at ${to}, its columns keep their names, order and types.`,
  }));
  const originalViews = views.map((view) => ({
    ...viewDefinition(view, view.definition.trim().replace(/;$/, '')),
    comment: `View ${view.schema}.${view.name} as it was before phase 3 (reading ${from}).`,
  }));
  const expression = (column: GeneratedColumnFact) => {
    try {
      return replaceColumnInExpression(column.expression, from, quoteIdent(to));
    } catch (error) {
      if (!(error instanceof SqlParseError)) throw error;
      throw new InputError(
        `${where}: generated column ${column.name} cannot be re-pointed at ${to}: ${error.message}`,
        {
          hint: 'drop the generated column before phase 3 and re-create it from the new column afterwards',
        },
      );
    }
  };
  return {
    recordedViews: views.map((view) => ({ schema: view.schema, name: view.name, fingerprint: view.fingerprint })),
    repointedViews,
    originalViews,
    repointedGenerated: generated.map((column) => ({
      name: column.name,
      expression: expression(column),
      comment: `Virtual generated column ${column.name} computed from ${from}: computed from ${to} (a catalog change, no rewrite).`,
    })),
    originalGenerated: generated.map((column) => ({
      name: column.name,
      expression: column.expression,
      comment: `Virtual generated column ${column.name} computed from ${from} again, as before phase 3.`,
    })),
  };
}

function repoint(
  view: ViewFact,
  rename: { schema: string; table: string; column: string; newName: string },
  where: string,
): string {
  try {
    return repointViewQuery(view.definition, rename);
  } catch (error) {
    if (!(error instanceof SqlParseError)) throw error;
    throw new InputError(
      `${where}: view ${view.schema}.${view.name} cannot be re-pointed at ${rename.newName} safely: ${error.message}`,
      {
        hint: `re-create the view on ${rename.newName} yourself after phase 1 (CREATE OR REPLACE VIEW … in phase 2's release), then \`phasectl plan refresh\`; or drop it and re-create it after phase 3`,
      },
    );
  }
}

function viewDefinition(view: ViewFact, query: string): Omit<ViewDefinition, 'comment'> {
  return { schema: view.schema, name: view.name, options: (view.options ?? []).map(option), query };
}

/** `check_option=cascaded` → `check_option = 'cascaded'` (the schema allows only name=value of plain characters). */
function option(text: string): string {
  const at = text.indexOf('=');
  const name = text.slice(0, at);
  if (at < 0 || !/^[a-z_]+$/.test(name))
    throw new InputError(`view option ${JSON.stringify(text)} is not name=value`, {
      hint: 'run `phasectl plan refresh` to read the options again',
    });
  return `${name} = ${quoteLiteral(text.slice(at + 1))}`;
}

/** What the contract template needs for the view guard and the re-pointing (templates/shared/guard-views.hbs, create-views.hbs). */
export function viewContractContext(change: RenameChange, plan: DependentsPlan) {
  return {
    recordedViews: plan.recordedViews,
    viewFingerprintSql: VIEW_FINGERPRINT_SQL,
    viewsHint: `record the views as they are now with \`phasectl plan refresh ${change.id}\`, then \`phasectl generate\` and migrate again`,
    repointedViews: plan.repointedViews,
    repointedGenerated: plan.repointedGenerated,
  };
}

/**
 * The down step of phase 3 that puts the views and generated columns back on the old column, after backfill-old
 * filled it (before, they would read NULLs). Undefined when the change has none. Shaped as a StepDraft.
 */
export function viewRestoreStep(plan: DependentsPlan, from: string) {
  if (plan.originalViews.length === 0 && plan.originalGenerated.length === 0) return undefined;
  return {
    name: 'restore-views',
    summary: `point the views${plan.originalGenerated.length > 0 ? ' and generated columns' : ''} back at ${from}`,
    transaction: true,
    template: 'restore-views',
    context: { originalViews: plan.originalViews, originalGenerated: plan.originalGenerated },
  };
}
