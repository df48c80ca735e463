import { sql, type Kysely } from 'kysely';
import { connect } from '../db/connect.js';
import { InputError } from '../errors.js';
import { derivedObjects } from '../operations/index.js';
import type { DerivedObject } from '../operations/types.js';
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import type { Change } from '../spec/types.js';

/**
 * Refuses a change (exit 2, nothing written) when a name phase 1 would create is already taken in its namespace:
 * index names (and UNIQUE constraint names, which rename their index) among the relations of the schema,
 * constraint and trigger names on the table, function names in schema phasectl. `CREATE INDEX … IF NOT EXISTS`
 * would otherwise skip the copy silently. A name taken after plan is caught by the generated steps themselves.
 */
export async function refuseTakenNames(databaseUrl: string, change: Change): Promise<void> {
  const objects = derivedObjects(change);
  refuseDuplicates(change, objects);
  const connection = await connect(databaseUrl, { max: 1, applicationName: 'phasectl plan' });
  try {
    for (const object of objects) {
      const holder = await holderOf(connection.db, object);
      if (holder) {
        throw new InputError(
          `change ${change.id}: the name ${displayIdentifier(object.name)} phasectl derives for ${object.about} is taken by ${holder}`,
          {
            hint: `rename that object (e.g. ALTER ${holderKeyword(object)} … RENAME TO …), or rename the original so its copy gets another name, or pass another --id; then plan again`,
          },
        );
      }
    }
  } finally {
    await connection.close();
  }
}

/** Two derived objects under one name in one namespace (e.g. two indexes whose names differ only in the column). */
function refuseDuplicates(change: Change, objects: DerivedObject[]): void {
  const seen = new Map<string, DerivedObject>();
  for (const object of objects) {
    for (const key of namespaceKeys(object)) {
      const earlier = seen.get(key);
      // A UNIQUE constraint and its own index share the name on purpose.
      if (earlier && !(earlier.kind === 'index' && object.unique)) {
        throw new InputError(
          `change ${change.id}: phasectl would give ${earlier.about} and ${object.about} the same name ${displayIdentifier(object.name)}`,
          {
            hint: 'rename one of the originals so their copies get different names, then plan again',
          },
        );
      }
      seen.set(key, object);
    }
  }
}

function namespaceKeys(object: DerivedObject): string[] {
  const relation = JSON.stringify(['relation', object.schema, object.name]);
  switch (object.kind) {
    case 'index':
      return [relation];
    case 'constraint':
      return [
        JSON.stringify(['constraint', object.schema, object.table, object.name]),
        ...(object.unique ? [relation] : []),
      ];
    case 'trigger':
      return [JSON.stringify(['trigger', object.schema, object.table, object.name])];
    case 'function':
      return [JSON.stringify(['function', object.schema, object.name])];
  }
}

function holderKeyword(object: DerivedObject): string {
  return object.kind === 'index'
    ? 'INDEX'
    : object.kind === 'constraint'
      ? 'TABLE … RENAME CONSTRAINT'
      : object.kind === 'trigger'
        ? 'TRIGGER'
        : 'FUNCTION';
}

const relkinds: Record<string, string> = {
  r: 'table',
  i: 'index',
  I: 'partitioned index',
  S: 'sequence',
  v: 'view',
  m: 'materialized view',
  c: 'composite type',
  f: 'foreign table',
  p: 'partitioned table',
  t: 'TOAST table',
};

/** What holds the object's name in its namespace, for the message; undefined when the name is free. */
async function holderOf(db: Kysely<any>, object: DerivedObject): Promise<string | undefined> {
  if (object.kind === 'index' || object.unique) {
    const { rows } = await sql<{ relkind: string; on_schema: string | null; on_table: string | null }>`
      SELECT c.relkind::text AS relkind, tn.nspname AS on_schema, t.relname AS on_table
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      LEFT JOIN pg_catalog.pg_index i ON i.indexrelid OPERATOR(pg_catalog.=) c.oid
      LEFT JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) i.indrelid
      LEFT JOIN pg_catalog.pg_namespace tn ON tn.oid OPERATOR(pg_catalog.=) t.relnamespace
      WHERE n.nspname OPERATOR(pg_catalog.=) ${object.schema} AND c.relname OPERATOR(pg_catalog.=) ${object.name}`.execute(
      db,
    );
    const row = rows[0];
    if (row) {
      const kind = relkinds[row.relkind] ?? `relation (relkind ${row.relkind})`;
      return row.on_table === null
        ? `a ${kind} of schema ${displayIdentifier(object.schema)}`
        : `an index on table ${displayColumn(row.on_schema ?? '', row.on_table)}`;
    }
  }
  if (object.kind === 'index') return undefined;
  // Constraints and triggers are named per table, functions per schema.
  const { rows } = await sql<{ taken: boolean }>`
    SELECT CASE CAST(${object.kind} AS pg_catalog.text)
      WHEN 'constraint' THEN EXISTS (SELECT FROM pg_catalog.pg_constraint c
        WHERE c.conrelid OPERATOR(pg_catalog.=) t.oid AND c.conname OPERATOR(pg_catalog.=) ${object.name})
      WHEN 'trigger' THEN EXISTS (SELECT FROM pg_catalog.pg_trigger g
        WHERE g.tgrelid OPERATOR(pg_catalog.=) t.oid AND g.tgname OPERATOR(pg_catalog.=) ${object.name})
      WHEN 'function' THEN EXISTS (SELECT FROM pg_catalog.pg_proc p
        WHERE p.pronamespace OPERATOR(pg_catalog.=) n.oid AND p.proname OPERATOR(pg_catalog.=) ${object.name})
    END AS taken
    FROM pg_catalog.pg_namespace n
    LEFT JOIN pg_catalog.pg_class t
      ON t.relnamespace OPERATOR(pg_catalog.=) n.oid AND t.relname OPERATOR(pg_catalog.=) ${object.table}
    WHERE n.nspname OPERATOR(pg_catalog.=) ${object.schema}`.execute(db);
  if (!rows[0]?.taken) return undefined;
  const table = displayColumn(object.schema, object.table);
  return object.kind === 'constraint'
    ? `a constraint on table ${table}`
    : object.kind === 'trigger'
      ? `a trigger on table ${table}`
      : `a function in schema ${displayIdentifier(object.schema)} (left by an earlier change with this id?)`;
}
