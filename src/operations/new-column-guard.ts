/**
 * What the expand step's guard (templates/shared/new-column-guard.hbs) needs to tell the column it adds from one
 * of the same name created since `plan`: where, the type as written in ADD COLUMN (with its collation), and the
 * bare type name it compares the existing column's type with. Pure.
 */
export interface NewColumnGuard {
  schema: string;
  table: string;
  column: string;
  type: string;
  baseType: string;
}

export function newColumnGuard(
  schema: string,
  table: string,
  column: string,
  type: string,
  baseType: string,
): NewColumnGuard {
  return { schema, table, column, type, baseType };
}
