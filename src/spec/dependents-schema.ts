import { z } from 'zod';
import type { DependentFacts } from './types.js';

/**
 * The `dependents:` facts of a change in phases.yaml: objects outside the column that use it, read by `plan`
 * (src/catalog/referencing-foreign-keys.ts, src/catalog/dependent-functions.ts). Built from the file's own
 * `identifier` and `sqlText` schemas so names get the same checks as everywhere else.
 */
export function dependentFactsSchema(identifier: z.ZodType<string>, sqlText: z.ZodType<string>) {
  const { viewFact, generatedColumnFact } = viewRecordSchemas(identifier, sqlText);
  const foreignKey = z.strictObject({
    schema: identifier,
    table: identifier,
    name: identifier,
    /** pg_get_constraintdef, read with search_path = pg_catalog, pg_temp (the referenced table qualified). */
    definition: sqlText,
  });
  const functionFact = z.strictObject({
    /** `oid::regprocedure` text, e.g. `public.order_total(integer)`. */
    name: sqlText,
    /** md5 of the body (`prosrc`) when plan read it. */
    fingerprint: z.string().regex(/^[0-9a-f]{32}$/, 'is not an md5 fingerprint'),
    /** True: the body names the column (work before phase 3). False: a text match the parser cleared. */
    namesColumn: z.boolean(),
    /** The body's line of the first mention (1 = the line after `AS $$`). */
    line: z.number().int().positive().optional(),
    /** The body's line of a statement that maps the table's columns by position (phase 3 refuses while unchanged). */
    byPosition: z.number().int().positive().optional(),
    /** The body's line of a statement writing the whole row of a table that grows at phase 1 elsewhere by position (phase 1 refuses while unchanged). */
    wholeRow: z.number().int().positive().optional(),
  });
  const trigger = z.strictObject({ name: identifier, definition: sqlText });
  return z.strictObject({
    views: z.array(viewFact).optional(),
    generated: z.array(generatedColumnFact).optional(),
    foreignKeys: z.array(foreignKey).default([]),
    // Absent: planned before phasectl read functions; phase 3 then keeps the output it had (no function guard).
    functions: z.array(functionFact).optional(),
    triggers: z.array(trigger).default([]),
  });
}

/** A recorded view and a recorded virtual generated column (under `dependents:`, or under `column:` in older files). */
export function viewRecordSchemas(identifier: z.ZodType<string>, sqlText: z.ZodType<string>) {
  return {
    viewFact: z.strictObject({
      schema: identifier,
      name: identifier,
      definition: sqlText,
      options: z.array(z.string().regex(/^[a-z_]+=[A-Za-z0-9_.]+$/, 'is not a view option (name=value)')).optional(),
      fingerprint: z.string().regex(/^[0-9a-f]{32}$/, 'is not an md5 fingerprint'),
    }),
    generatedColumnFact: z.strictObject({ name: identifier, expression: sqlText }),
  };
}

/**
 * A parsed change with `views` and `generated` taken out of `column` (where older files recorded them) into
 * `dependents`, where phasectl keeps every record of what else uses the column. Pure.
 */
export function unifyDependents<
  T extends {
    column: { views?: unknown[]; generated?: unknown[] };
    dependents?: { views?: unknown[]; generated?: unknown[]; foreignKeys: unknown[]; triggers: unknown[] };
  },
>(change: T): Omit<T, 'column'> & { column: Omit<T['column'], 'views' | 'generated'> } {
  const { views, generated, ...rest } = change.column;
  const column = rest as Omit<T['column'], 'views' | 'generated'>;
  if (views === undefined && generated === undefined) return { ...change, column };
  const dependents = change.dependents ?? { foreignKeys: [], triggers: [] };
  return {
    ...change,
    column,
    dependents: {
      ...(views === undefined ? {} : { views }),
      ...(generated === undefined ? {} : { generated }),
      ...dependents,
    },
  };
}

/** The `dependents:` facts as phases.yaml spells them: keys in a fixed order, optional facts left out. */
export function dependentsToPlain(dependents: DependentFacts): Record<string, unknown> {
  return {
    ...viewRecordsToPlain(dependents),
    foreignKeys: dependents.foreignKeys.map(({ schema, table, name, definition }) => ({
      schema,
      table,
      name,
      definition,
    })),
    ...(dependents.functions === undefined
      ? {}
      : {
          functions: dependents.functions.map(({ name, fingerprint, namesColumn, line, byPosition, wholeRow }) => ({
            name,
            fingerprint,
            namesColumn,
            ...(line === undefined ? {} : { line }),
            ...(byPosition === undefined ? {} : { byPosition }),
            ...(wholeRow === undefined ? {} : { wholeRow }),
          })),
        }),
    ...(dependents.triggers.length === 0
      ? {}
      : { triggers: dependents.triggers.map(({ name, definition }) => ({ name, definition })) }),
  };
}

/** The `views` and `generated` records as phases.yaml spells them (left out when empty). */
function viewRecordsToPlain(dependents: Pick<DependentFacts, 'views' | 'generated'>): Record<string, unknown> {
  return {
    ...(dependents.views?.length
      ? {
          views: dependents.views.map((view) => ({
            schema: view.schema,
            name: view.name,
            ...(view.options?.length ? { options: [...view.options] } : {}),
            fingerprint: view.fingerprint,
            definition: view.definition,
          })),
        }
      : {}),
    ...(dependents.generated?.length
      ? { generated: dependents.generated.map((column) => ({ name: column.name, expression: column.expression })) }
      : {}),
  };
}
