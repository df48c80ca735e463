import { z } from 'zod';
import type { DependentFacts } from './types.js';

/**
 * The `dependents:` facts of a change in phases.yaml: objects outside the column that use it, read by `plan`
 * (src/catalog/referencing-foreign-keys.ts, src/catalog/dependent-functions.ts). Built from the file's own
 * `identifier` and `sqlText` schemas so names get the same checks as everywhere else.
 */
export function dependentFactsSchema(identifier: z.ZodType<string>, sqlText: z.ZodType<string>) {
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
  });
  const trigger = z.strictObject({ name: identifier, definition: sqlText });
  return z.strictObject({
    foreignKeys: z.array(foreignKey).default([]),
    functions: z.array(functionFact).default([]),
    triggers: z.array(trigger).default([]),
  });
}

/** The `dependents:` facts as phases.yaml spells them: keys in a fixed order, optional facts left out. */
export function dependentsToPlain(dependents: DependentFacts): Record<string, unknown> {
  return {
    foreignKeys: dependents.foreignKeys.map(({ schema, table, name, definition }) => ({
      schema,
      table,
      name,
      definition,
    })),
    functions: dependents.functions.map(({ name, fingerprint, namesColumn, line }) => ({
      name,
      fingerprint,
      namesColumn,
      ...(line === undefined ? {} : { line }),
    })),
    ...(dependents.triggers.length === 0
      ? {}
      : { triggers: dependents.triggers.map(({ name, definition }) => ({ name, definition })) }),
  };
}
