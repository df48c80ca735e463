import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { didYouMean } from '../spec/closest-name.js';
import { displayColumn, displayIdentifier, MAX_IDENTIFIER_BYTES, utf8Length } from '../spec/identifiers.js';
import { refuseUnsafeSurroundings } from './refusals.js';
import { quoteIdent, quoteLiteral } from '../render/quote.js';
import { unsupportedServer } from '../session/server-version.js';
import { refuseInheritance } from './inheritance.js';
import { readReferencingForeignKeys } from './referencing-foreign-keys.js';
import type {
  ColumnFacts,
  ConstraintFact,
  DependentFacts,
  IndexFact,
  KeyFacts,
  ReferencingForeignKey,
} from '../spec/types.js';
import { dependentFacts } from './dependent-facts.js';
import { movePartitionedReason, refusePartitionedSurroundings } from './partition-facts.js';
import { refuseUntrustedCode } from './table-trust.js';

/** The column a change starts from. */
export interface ColumnTarget {
  schema: string;
  table: string;
  column: string;
}

/**
 * Reads from the catalog everything generating a rename of `target` to `newName` needs (type,
 * collation, nullability, default, indexes, constraints, the key the backfill walks), and refuses
 * columns phasectl cannot rename safely, each with an InputError that names the object and the fix.
 */
export async function readRenameFacts(
  db: Kysely<any>,
  target: ColumnTarget,
  newName: string,
  /** A move creates the new column on another table: the source table may already have a column of that name. */
  options: { newColumnOnThisTable?: boolean } = {},
): Promise<
  { column: ColumnFacts; key: KeyFacts; foreignKeys: ReferencingForeignKey[]; partitioned?: true } & Pick<
    DependentFacts,
    'views' | 'generated'
  >
> {
  const where = displayColumn(target.schema, target.table, target.column);
  const tableName = displayColumn(target.schema, target.table);
  if (newName.length === 0)
    throw new InputError('the new column name is empty', { hint: 'give the new name, e.g. favourite_color' });
  if (utf8Length(newName) > MAX_IDENTIFIER_BYTES) {
    throw new InputError(
      `new column name ${displayIdentifier(newName)} is ${utf8Length(newName)} bytes; PostgreSQL keeps at most ${MAX_IDENTIFIER_BYTES}`,
      {
        hint: 'choose a shorter name (PostgreSQL would silently truncate it)',
      },
    );
  }
  await requireServerVersion(db);
  const relation = await findTable(db, target);
  const partitioned = relation.relkind === 'p';
  if (partitioned && options.newColumnOnThisTable === false) {
    throw new InputError(movePartitionedReason(tableName), {
      hint: 'a move works between two ordinary (non-partitioned) tables; a rename of a column of a partitioned table is supported',
    });
  }
  if (!partitioned && relation.relkind !== 'r') {
    throw new InputError(`${tableName} is not a table (${relkindName(relation.relkind)})`, {
      hint: 'name an ordinary table',
    });
  }
  const tableOid = relation.oid;
  const attribute = await findColumn(db, tableOid, target, tableName);
  if (!partitioned) await refuseInheritance(db, tableOid, tableName, { attnum: attribute.attnum, where });
  if (options.newColumnOnThisTable !== false && (await columnExists(db, tableOid, newName))) {
    throw new InputError(`${tableName} already has a column ${displayIdentifier(newName)}`, {
      hint: 'choose another new name, or drop that column first',
    });
  }
  // First: a partition key column is often in the primary key too, and the key is the better reason.
  if (partitioned) await refusePartitionedSurroundings(db, tableOid, target.column, where, tableName);
  await refuseUntrustedCode(db, target, tableName, { columns: [target.column] });
  if (attribute.attgenerated !== '') {
    throw new InputError(`${where} is a generated column; phasectl cannot keep a generated column in sync`, {
      hint: 'add the new generated column and drop the old one yourself (its value is derived, nothing is lost)',
    });
  }
  if (attribute.attidentity !== '') {
    // Its sequence is internal to the column: it cannot be given to another column (ALTER SEQUENCE … OWNED BY refuses
    // an identity sequence), only dropped with it. A sequence default (serial) can, and phase 3 of a rename carries it.
    throw new InputError(`${where} is an identity column; phasectl does not move identity sequences`, {
      hint: identityHint(tableName, target.column),
    });
  }
  // A rename re-points the views reading the column in phase 3 and copies the foreign keys referencing it; a move
  // refuses the keys, and lists the views as the team's work before phase 3 (src/catalog/dependents-record.ts).
  const isMove = options.newColumnOnThisTable === false;
  if (isMove) await refuseReferencingForeignKeys(db, tableOid, attribute.attnum, where);
  const primaryKey = await primaryKeyColumns(db, tableOid);
  if (primaryKey && primaryKey.attnums.includes(attribute.attnum)) {
    throw new InputError(
      `${where} is part of the primary key ${displayIdentifier(primaryKey.name)}; phasectl does not rename key columns`,
      {
        hint: 'key columns identify rows for the backfill and for other tables: rename them in a maintenance window',
      },
    );
  }
  await refuseUnsafeSurroundings(db, tableOid, attribute.attnum, where, tableName, {
    triggers: options.newColumnOnThisTable !== false,
    sequences: options.newColumnOnThisTable !== false,
  });
  const key = await tableKey(db, tableOid, attribute.attnum, tableName, partitioned);
  const column: ColumnFacts = {
    type: attribute.type,
    ...(attribute.collation === null ? {} : { collation: attribute.collation }),
    nullable: !attribute.attnotnull,
    ...(attribute.default_expression === null ? {} : { default: attribute.default_expression }),
    indexes: await columnIndexes(db, tableOid, attribute.attnum, where),
    constraints: await columnConstraints(db, tableOid, attribute.attnum),
  };
  const viewsAndGenerated = await dependentFacts(db, tableOid, attribute.attnum, target, isMove);
  const foreignKeys = isMove
    ? []
    : await readReferencingForeignKeys(db, tableOid, attribute.attnum, column.indexes, where);
  return { column, key, foreignKeys, ...viewsAndGenerated, ...(partitioned ? { partitioned: true as const } : {}) };
}

/** The fix for an identity column: turn it into a sequence default (which a rename carries), keeping its numbering. */
function identityHint(tableName: string, column: string): string {
  const col = quoteIdent(column);
  const seq = 'numbers_seq';
  return (
    `make it a sequence default first, which a rename carries over (phase 3 gives the sequence to the new column); in one transaction: ` +
    `LOCK TABLE ${tableName}; CREATE SEQUENCE <schema>.${seq} OWNED BY ${tableName}.${col}; ` +
    `SELECT setval('<schema>.${seq}', nextval(pg_get_serial_sequence(${quoteLiteral(tableName)}, ${quoteLiteral(column)}))); ` +
    `ALTER TABLE ${tableName} ALTER COLUMN ${col} DROP IDENTITY, ALTER COLUMN ${col} SET DEFAULT nextval('<schema>.${seq}'); ` +
    `then plan again (GENERATED ALWAYS no longer refuses explicit values after that). Or rename it with ALTER TABLE … RENAME COLUMN in a maintenance window`
  );
}

async function requireServerVersion(db: Kysely<any>): Promise<void> {
  const { rows } = await sql<{ version: number; display: string }>`
    SELECT pg_catalog.current_setting('server_version_num')::int AS version, pg_catalog.current_setting('server_version') AS display`.execute(
    db,
  );
  const server = rows[0]!;
  const problem = unsupportedServer(server.version, server.display);
  if (problem) throw problem;
}

async function findTable(db: Kysely<any>, target: ColumnTarget): Promise<{ oid: number; relkind: string }> {
  const { rows: schemas } = await sql<{
    oid: number;
  }>`SELECT oid FROM pg_catalog.pg_namespace WHERE nspname OPERATOR(pg_catalog.=) ${target.schema}`.execute(db);
  if (schemas.length === 0) {
    const { rows } = await sql<{ name: string }>`
      SELECT nspname AS name FROM pg_catalog.pg_namespace
      WHERE nspname NOT LIKE 'pg\\_%' AND nspname OPERATOR(pg_catalog.<>) 'information_schema'`.execute(db);
    const known = rows.map((row) => row.name);
    throw new InputError(
      `schema ${displayIdentifier(target.schema)} does not exist${didYouMean(target.schema, known)}`,
      {
        hint: `check the name (schemas: ${known.join(', ')}); quote names with capitals or dots: "My Schema".table.column`,
      },
    );
  }
  const { rows } = await sql<{ oid: number; relkind: string }>`
    SELECT c.oid, c.relkind FROM pg_catalog.pg_class c
    WHERE c.relnamespace OPERATOR(pg_catalog.=) ${schemas[0]!.oid} AND c.relname OPERATOR(pg_catalog.=) ${target.table}`.execute(
    db,
  );
  const table = rows[0];
  if (!table) {
    const { rows: tables } = await sql<{ name: string }>`
      SELECT relname AS name FROM pg_catalog.pg_class WHERE relnamespace OPERATOR(pg_catalog.=) ${schemas[0]!.oid} AND relkind IN ('r', 'p')`.execute(
      db,
    );
    throw new InputError(
      `table ${displayColumn(target.schema, target.table)} does not exist${didYouMean(
        target.table,
        tables.map((row) => row.name),
      )}`,
      {
        hint: 'check the table name; write schema.table.column for a table outside public, and quote names with capitals: "Users".email',
      },
    );
  }
  return { oid: Number(table.oid), relkind: table.relkind };
}

interface AttributeRow {
  attnum: number;
  attnotnull: boolean;
  attgenerated: string;
  attidentity: string;
  type: string;
  collation: string | null;
  default_expression: string | null;
}

async function findColumn(
  db: Kysely<any>,
  tableOid: number,
  target: ColumnTarget,
  tableName: string,
): Promise<AttributeRow> {
  const { rows } = await sql<AttributeRow>`
    SELECT a.attnum, a.attnotnull, a.attgenerated, a.attidentity,
           pg_catalog.format_type(a.atttypid, a.atttypmod) AS type,
           CASE WHEN a.attcollation OPERATOR(pg_catalog.<>) 0 AND a.attcollation OPERATOR(pg_catalog.<>) t.typcollation
                THEN '"' || pg_catalog.replace(cn.nspname, '"', '""') || '"."' || pg_catalog.replace(co.collname, '"', '""') || '"' END AS collation,
           pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default_expression
    FROM pg_catalog.pg_attribute a
    JOIN pg_catalog.pg_type t ON t.oid OPERATOR(pg_catalog.=) a.atttypid
    LEFT JOIN pg_catalog.pg_collation co ON co.oid OPERATOR(pg_catalog.=) a.attcollation
    LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid OPERATOR(pg_catalog.=) co.collnamespace
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid OPERATOR(pg_catalog.=) a.attrelid AND d.adnum OPERATOR(pg_catalog.=) a.attnum
    WHERE a.attrelid OPERATOR(pg_catalog.=) ${tableOid} AND a.attname OPERATOR(pg_catalog.=) ${target.column} AND NOT a.attisdropped`.execute(
    db,
  );
  const attribute = rows[0];
  if (!attribute) {
    const { rows: columns } = await sql<{ name: string }>`
      SELECT attname AS name FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) ${tableOid} AND attnum OPERATOR(pg_catalog.>) 0 AND NOT attisdropped`.execute(
      db,
    );
    throw new InputError(
      `${tableName} has no column ${displayIdentifier(target.column)}${didYouMean(
        target.column,
        columns.map((row) => row.name),
      )}`,
      {
        hint: `its columns: ${columns.map((row) => displayIdentifier(row.name)).join(', ')}`,
      },
    );
  }
  if (attribute.attnum < 0) {
    throw new InputError(
      `${displayIdentifier(target.column)} is a system column of ${tableName}; it cannot be renamed`,
      { hint: 'name a user column' },
    );
  }
  return attribute;
}

async function columnExists(db: Kysely<any>, tableOid: number, name: string): Promise<boolean> {
  const { rows } = await sql`
    SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid OPERATOR(pg_catalog.=) ${tableOid} AND attname OPERATOR(pg_catalog.=) ${name} AND NOT attisdropped`.execute(
    db,
  );
  return rows.length > 0;
}

async function refuseReferencingForeignKeys(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  where: string,
): Promise<void> {
  const { rows } = await sql<{ name: string; on_table: string }>`
    SELECT c.conname AS name, c.conrelid::regclass::text AS on_table
    FROM pg_catalog.pg_constraint c
    WHERE c.contype OPERATOR(pg_catalog.=) 'f' AND c.confrelid OPERATOR(pg_catalog.=) ${tableOid} AND ${attnum}::int2 OPERATOR(pg_catalog.=) ANY (c.confkey)
    ORDER BY 2, 1`.execute(db);
  if (rows.length > 0) {
    const names = rows.map((row) => `${displayIdentifier(row.name)} on ${row.on_table}`).join(', ');
    throw new InputError(`${where} is referenced by foreign key ${names}`, {
      hint: 'a move cannot carry a foreign key to another table: drop those keys before planning, and once phase 1 has filled the target column and built its unique index, add each one referencing it (ADD CONSTRAINT … FOREIGN KEY … REFERENCES <target table> (<column>) NOT VALID, then VALIDATE CONSTRAINT: short locks)',
    });
  }
}

async function primaryKeyColumns(
  db: Kysely<any>,
  tableOid: number,
): Promise<{ name: string; attnums: number[] } | undefined> {
  const { rows } = await sql<{ name: string; attnums: number[] }>`
    SELECT ic.relname AS name, pg_catalog.array_agg(k.attnum ORDER BY k.position)::int[] AS attnums
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
    CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
    WHERE i.indrelid OPERATOR(pg_catalog.=) ${tableOid} AND i.indisprimary
    GROUP BY ic.relname`.execute(db);
  return rows[0];
}

/**
 * The key the backfill walks: the primary key, else the narrowest valid unique index without
 * expressions or predicate whose columns are all NOT NULL (and do not include the renamed column).
 */
async function tableKey(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  tableName: string,
  partitioned: boolean,
): Promise<KeyFacts> {
  const { rows } = await sql<{
    name: string;
    columns: string[];
    types: string[];
    primary: boolean;
    has_column: boolean;
    all_not_null: boolean;
  }>`
    SELECT ic.relname AS name, i.indisprimary AS primary,
           pg_catalog.array_agg(a.attname::text ORDER BY k.position) AS columns,
           pg_catalog.array_agg(pg_catalog.format_type(a.atttypid, a.atttypmod) ORDER BY k.position) AS types,
           pg_catalog.bool_or(a.attnum OPERATOR(pg_catalog.=) ${attnum}) AS has_column, pg_catalog.bool_and(a.attnotnull) AS all_not_null
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
    CROSS JOIN LATERAL pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) k.attnum
    WHERE i.indrelid OPERATOR(pg_catalog.=) ${tableOid} AND i.indisunique AND i.indisvalid AND i.indimmediate
      AND i.indexprs IS NULL AND i.indpred IS NULL AND k.position OPERATOR(pg_catalog.<=) i.indnkeyatts
    GROUP BY ic.relname, i.indisprimary
    ORDER BY i.indisprimary DESC, pg_catalog.count(*), ic.relname`.execute(db);
  const key = rows.find((row) => row.all_not_null && !row.has_column);
  if (!key) {
    throw new InputError(
      `${tableName} has no primary key and no unique index over NOT NULL columns (other than the renamed column)`,
      {
        hint: partitioned
          ? `add a primary key that includes the partition key columns (PostgreSQL requires them in a unique key of a partitioned table): ALTER TABLE ${tableName} ADD PRIMARY KEY (id, <partition key columns>) — the backfill walks the table by its key`
          : `add a primary key: ALTER TABLE ${tableName} ADD PRIMARY KEY (id) — the backfill walks the table by its key`,
      },
    );
  }
  return { columns: key.columns, types: key.types };
}

async function columnIndexes(db: Kysely<any>, tableOid: number, attnum: number, where: string): Promise<IndexFact[]> {
  // Key and INCLUDE columns are in indkey; expressions and predicates are recorded in pg_depend.
  const { rows } = await sql<{
    name: string;
    definition: string;
    unique: boolean;
    constraint: string | null;
    contype: string | null;
    primary: boolean;
  }>`
    SELECT ic.relname AS name, pg_catalog.pg_get_indexdef(i.indexrelid) AS definition, i.indisunique AS unique,
           i.indisprimary AS primary, con.conname AS constraint, con.contype::text AS contype
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
    LEFT JOIN pg_catalog.pg_constraint con ON con.conindid OPERATOR(pg_catalog.=) i.indexrelid AND con.conrelid OPERATOR(pg_catalog.=) i.indrelid AND con.contype IN ('p', 'u', 'x')
    WHERE i.indrelid OPERATOR(pg_catalog.=) ${tableOid}
      AND (${attnum}::int2 OPERATOR(pg_catalog.=) ANY (i.indkey::int2[])
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend dep
                      WHERE dep.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::regclass AND dep.objid OPERATOR(pg_catalog.=) i.indexrelid
                        AND dep.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::regclass AND dep.refobjid OPERATOR(pg_catalog.=) i.indrelid
                        AND dep.refobjsubid OPERATOR(pg_catalog.=) ${attnum}))
    ORDER BY ic.relname`.execute(db);
  const exclusion = rows.find((row) => row.contype === 'x');
  if (exclusion) {
    throw new InputError(
      `${where} is part of exclusion constraint ${displayIdentifier(exclusion.name)}; phasectl does not copy exclusion constraints yet`,
      {
        hint: 'drop the exclusion constraint before the change and re-create it on the new column after phase 3',
      },
    );
  }
  return rows
    .filter((row) => !row.primary)
    .map((row) => ({
      name: row.name,
      definition: row.definition,
      unique: row.unique,
      ...(row.constraint === null ? {} : { constraint: row.constraint }),
    }));
}

async function columnConstraints(db: Kysely<any>, tableOid: number, attnum: number): Promise<ConstraintFact[]> {
  const { rows } = await sql<{ name: string; contype: string; definition: string }>`
    SELECT c.conname AS name, c.contype::text AS contype, pg_catalog.pg_get_constraintdef(c.oid) AS definition
    FROM pg_catalog.pg_constraint c
    WHERE c.conrelid OPERATOR(pg_catalog.=) ${tableOid} AND c.contype IN ('c', 'u', 'f') AND ${attnum}::int2 OPERATOR(pg_catalog.=) ANY (c.conkey)
    ORDER BY c.conname`.execute(db);
  const kinds: Record<string, ConstraintFact['kind']> = { c: 'check', u: 'unique', f: 'foreign_key' };
  return rows.map((row) => ({ name: row.name, kind: kinds[row.contype]!, definition: row.definition }));
}

function relkindName(relkind: string): string {
  return (
    (
      {
        v: 'a view',
        m: 'a materialized view',
        f: 'a foreign table',
        S: 'a sequence',
        i: 'an index',
        c: 'a composite type',
      } as Record<string, string>
    )[relkind] ?? `relkind ${relkind}`
  );
}
