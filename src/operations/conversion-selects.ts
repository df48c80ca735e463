import { qualify } from '../render/quote.js';
import type { RenameChange } from '../spec/types.js';

/** A conversion of a rename as a SELECT over its table, and how a refusal names it. */
export interface ConversionSelect {
  label: string;
  select: string;
}

/** The conversions of a rename as the generated SQL writes them (renameConversions in ./rename.ts). */
export interface Conversions {
  up: (value: string) => string;
  down: (value: string) => string;
  oldType: string;
  newType: string;
}

/**
 * The `conversions` of `change`, each a SELECT over the table whose dependencies say what it calls
 * (src/sql/conversion-code.ts). Each converts a NULL of the column's type, which resolves every function and operator
 * as the column would: the new column does not exist before phase 1, nor the old one before the rollback of phase 3
 * re-adds it. None for a rename that keeps its type without expressions. Pure.
 */
export function conversionSelects(change: RenameChange, conversions: Conversions): ConversionSelect[] {
  const { up, down, oldType, newType } = conversions;
  const converts = change.rename.up !== undefined || change.rename.down !== undefined || newType !== change.column.type;
  if (!converts) return [];
  const table = qualify(change.rename.schema, change.rename.table);
  const kind = (name: 'up' | 'down') =>
    change.rename[name] !== undefined ? `the ${name} expression` : `the ${name} cast`;
  return [
    {
      label: `${kind('up')} of change ${change.id}`,
      select: `SELECT CAST(${up(`CAST(NULL AS ${oldType})`)} AS ${newType}) AS converted FROM ${table} AS t`,
    },
    {
      label: `${kind('down')} of change ${change.id}`,
      select: `SELECT CAST(${down(`CAST(NULL AS ${newType})`)} AS ${oldType}) AS converted FROM ${table} AS t`,
    },
  ];
}
