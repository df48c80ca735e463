import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { SYNC_TRIGGER_NAME_PATTERN } from '../operations/naming.js';
import { qualify } from '../render/quote.js';
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import type { DependentTrigger } from '../spec/types.js';
import { triggerNamesColumn, triggerOnColumn } from '../dependents/triggers.js';

/**
 * The user triggers on the table whose definition names `column` (UPDATE OF, WHEN, arguments), read with
 * search_path = pg_catalog, pg_temp. Refuses (InputError) a constraint trigger, or one phasectl cannot re-point.
 */
export async function triggersNamingColumnInDefinition(
  db: Kysely<any>,
  target: { schema: string; table: string; column: string },
  newName: string,
): Promise<DependentTrigger[]> {
  const naming = await userTriggersNamingColumn(db, target);
  for (const row of naming) {
    const where = `trigger ${displayIdentifier(row.name)} on ${qualify(target.schema, target.table)}`;
    if (row.constraint) {
      throw new InputError(
        `${where} is a constraint trigger that names ${displayIdentifier(target.column)}; phasectl cannot replace a constraint trigger in place`,
        {
          hint: 'drop it before the change and re-create it on the new column after phase 3',
        },
      );
    }
    triggerOnColumn(row.definition, target.column, newName, where);
  }
  return naming.map(({ name, definition }) => ({ name, definition }));
}

/**
 * A move cannot carry the triggers of the source table that name the moved column (UPDATE OF, WHEN, arguments): the
 * column they name leaves the table, and the trigger cannot follow it to another one. Refused at plan (InputError,
 * each trigger named) so phase 3 never drops a column a trigger still needs.
 */
export async function refuseTriggersNamingMovedColumn(
  db: Kysely<any>,
  from: { schema: string; table: string; column: string },
  to: { schema: string; table: string; column: string },
): Promise<void> {
  const naming = await userTriggersNamingColumn(db, from);
  if (naming.length === 0) return;
  const table = displayColumn(from.schema, from.table);
  const target = displayColumn(to.schema, to.table);
  throw new InputError(
    `trigger ${naming.map((row) => displayIdentifier(row.name)).join(', ')} on ${table} name(s) ${displayIdentifier(from.column)} (UPDATE OF, WHEN or an argument); a move cannot re-create a trigger on another table`,
    {
      hint:
        `before planning, change each trigger so it does not name ${displayIdentifier(from.column)} (or drop it); ` +
        `once phase 1 has added ${displayColumn(to.schema, to.table, to.column)}, create what you need as a trigger on ${target} naming it; nothing was written`,
    },
  );
}

/** The user triggers on the table whose definition names `column`; one the parser cannot read counts (refused later). */
async function userTriggersNamingColumn(
  db: Kysely<any>,
  target: { schema: string; table: string; column: string },
): Promise<Array<{ name: string; definition: string; constraint: boolean }>> {
  const { rows } = await sql<{ name: string; definition: string; constraint: boolean }>`
    SELECT t.tgname AS name, pg_catalog.pg_get_triggerdef(t.oid) AS definition, t.tgconstraint OPERATOR(pg_catalog.<>) 0 AS constraint
    FROM pg_catalog.pg_trigger t
    WHERE t.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${qualify(target.schema, target.table)}) AND NOT t.tgisinternal
      AND NOT (t.tgname::text OPERATOR(pg_catalog.~) ${SYNC_TRIGGER_NAME_PATTERN})
    ORDER BY 1`.execute(db);
  return rows.filter((row) => {
    try {
      return triggerNamesColumn(row.definition, target.column);
    } catch {
      return true; // unreadable: let the caller refuse it with the reason
    }
  });
}
