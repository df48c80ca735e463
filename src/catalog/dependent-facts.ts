import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { displayColumn } from '../spec/identifiers.js';
import type { DependentFacts, IndexFact } from '../spec/types.js';
import { readReferencingForeignKeys } from './referencing-foreign-keys.js';
import { readDependentViews, readVirtualGeneratedColumns } from './view-facts.js';

/**
 * The `views` and `generated` facts of a column (omitted when there are none, so phases.yaml stays as before).
 * A move refuses virtual generated columns: their expression cannot read another table.
 */
export async function dependentFacts(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  target: { schema: string; table: string; column: string },
  isMove: boolean,
): Promise<Pick<DependentFacts, 'views' | 'generated'>> {
  const generated = await readVirtualGeneratedColumns(db, tableOid, attnum);
  if (isMove && generated.length > 0) {
    throw new InputError(
      `${displayColumn(target.schema, target.table, target.column)} is used by virtual generated column ${generated.map((column) => column.name).join(', ')}; a generated column cannot read another table`,
      {
        hint: 'drop the generated column (its value is derived, nothing is lost) and compute it from the target table, e.g. in a view, then plan the move again',
      },
    );
  }
  if (generated.length > 0)
    await refuseSetExpressionBlockers(
      db,
      tableOid,
      attnum,
      target,
      generated.map((column) => column.name),
    );
  const views = isMove ? [] : await readDependentViews(db, tableOid, attnum, target);
  return { ...(views.length > 0 ? { views } : {}), ...(generated.length > 0 ? { generated } : {}) };
}

/**
 * The `views`, `generated` and `foreignKeys` facts of an existing column, found by name (for `phasectl plan refresh`);
 * `indexes`: the column's indexes as recorded (a referencing key must use one phase 1 rebuilds).
 */
export async function readColumnDependents(
  db: Kysely<any>,
  target: { schema: string; table: string; column: string },
  indexes: IndexFact[],
): Promise<Pick<DependentFacts, 'views' | 'generated' | 'foreignKeys'>> {
  const { rows } = await sql<{ oid: number; attnum: number }>`
    SELECT c.oid, a.attnum FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid
    WHERE n.nspname OPERATOR(pg_catalog.=) ${target.schema} AND c.relname OPERATOR(pg_catalog.=) ${target.table}
      AND a.attname OPERATOR(pg_catalog.=) ${target.column} AND a.attnum OPERATOR(pg_catalog.>) 0 AND NOT a.attisdropped`.execute(
    db,
  );
  const found = rows[0];
  if (!found) {
    throw new InputError(
      `${displayColumn(target.schema, target.table, target.column)} does not exist in this database`,
      {
        hint: 'refresh against the database the change is applied to, before its phase 3',
      },
    );
  }
  const viewsAndGenerated = await dependentFacts(db, Number(found.oid), Number(found.attnum), target, false);
  const where = displayColumn(target.schema, target.table, target.column);
  const foreignKeys = await readReferencingForeignKeys(db, Number(found.oid), Number(found.attnum), indexes, where);
  return { ...viewsAndGenerated, foreignKeys };
}

/**
 * PostgreSQL 18 refuses SET EXPRESSION of a virtual generated column while its table has a CHECK constraint. A NOT NULL
 * column is held by a check on the new column from phase 1 until phase 3 (and again after phase 3's down), and a
 * CHECK of the table stays: either would make phase 3 or its down fail. Refused at plan instead.
 */
async function refuseSetExpressionBlockers(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  target: { schema: string; table: string; column: string },
  generated: string[],
): Promise<void> {
  const { rows } = await sql<{ checks: string[] | null; not_null: boolean }>`
    SELECT (SELECT pg_catalog.array_agg(c.conname::text ORDER BY c.conname) FROM pg_catalog.pg_constraint c
            WHERE c.conrelid OPERATOR(pg_catalog.=) ${tableOid} AND c.contype OPERATOR(pg_catalog.=) 'c') AS checks,
           (SELECT a.attnotnull FROM pg_catalog.pg_attribute a WHERE a.attrelid OPERATOR(pg_catalog.=) ${tableOid} AND a.attnum OPERATOR(pg_catalog.=) ${attnum}) AS not_null`.execute(
    db,
  );
  const { checks, not_null: notNull } = rows[0]!;
  if (!notNull && !checks?.length) return;
  const blocker = notNull
    ? 'the column is NOT NULL (phasectl holds that with a CHECK on the new column until phase 3)'
    : `the table has CHECK constraint ${checks!.join(', ')}`;
  throw new InputError(
    `${displayColumn(target.schema, target.table, target.column)} is used by virtual generated column ${generated.join(', ')}; PostgreSQL cannot re-point it (SET EXPRESSION) while the table has a CHECK constraint, and ${blocker}`,
    {
      hint: 'drop the generated column before phase 1 and re-add it from the new column after phase 3 (adding a virtual column is instant), or keep the column name',
    },
  );
}
