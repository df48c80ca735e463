import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { quoteIdent, qualify } from '../render/quote.js';
import { didYouMean } from '../spec/closest-name.js';
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import type { ColumnFacts, JoinPair, KeyFacts, MoveTargetFacts } from '../spec/types.js';
import { readRenameFacts, type ColumnTarget } from './column-facts.js';
import { refuseInheritance } from './inheritance.js';
import { movePartitionedReason } from './partition-facts.js';
import { refuseUntrustedCode } from './table-trust.js';
import { refuseConstrainedDomainColumn } from './domain-constraints.js';
import { domainChainCtes } from '../sql/domain-chain.js';

/**
 * Reads what a move of `from` to `to` (joined on `on`) needs and refuses what cannot move safely:
 * the source column's facts (as for a rename), the source key, and the target's facts. The join must be 1:1:
 * the source's join columns are its key or a unique NOT NULL key, the target's are covered by a UNIQUE index.
 * An existing target column must have the same type and hold only NULLs or the values of its source rows.
 */
export async function readMoveFacts(
  db: Kysely<any>,
  from: ColumnTarget,
  to: ColumnTarget,
  on: JoinPair[],
): Promise<{ column: ColumnFacts; key: KeyFacts; target: MoveTargetFacts }> {
  const sourceName = displayColumn(from.schema, from.table);
  const targetName = displayColumn(to.schema, to.table);
  if (on.length === 0)
    throw new InputError('the move has no join columns', {
      hint: 'give --on <source column>=<target column>, e.g. --on id=user_id',
    });
  if (from.schema === to.schema && from.table === to.table) {
    throw new InputError(
      `${displayColumn(from.schema, from.table, from.column)} and ${displayColumn(to.schema, to.table, to.column)} are in the same table`,
      {
        hint: 'use `phasectl plan rename` to rename a column inside one table',
      },
    );
  }
  const { column, key } = await readRenameFacts(db, from, to.column, { newColumnOnThisTable: false });
  const sourceOid = await tableOid(db, from, sourceName);
  const targetOid = await tableOid(db, to, targetName);
  // The target's sync trigger and added column meet the same problems with a partition or INHERITS children.
  await refuseInheritance(db, targetOid, targetName);
  // The backfill writes the target (the source only on the way down, checked with the source's facts).
  await refuseUntrustedCode(db, to, targetName, { types: [column.type] });
  const sourceJoin = await attnums(
    db,
    sourceOid,
    on.map((pair) => pair.from),
    sourceName,
  );
  const targetJoin = await attnums(
    db,
    targetOid,
    on.map((pair) => pair.to),
    targetName,
  );
  if (on.some((pair) => pair.from === from.column)) {
    throw new InputError(`${from.column} is the moved column and a join column`, {
      hint: 'join on the key of the source table, e.g. --on id=user_id',
    });
  }
  await refuseCrossColumnObjects(db, sourceOid, from, sourceName);
  await requireUniqueSourceJoin(db, sourceOid, sourceJoin, key, on, sourceName);
  const uniqueIndex = await requireUniqueTargetJoin(db, targetOid, targetJoin, on, to, targetName);
  await requireMatchingJoinTypes(db, sourceOid, targetOid, on, from, to);
  const existingColumn = await checkExistingTargetColumn(db, targetOid, column, from, to, on);
  if (!existingColumn)
    await refuseConstrainedDomainColumn(
      db,
      column.type,
      displayColumn(from.schema, from.table, from.column),
      displayColumn(to.schema, to.table, to.column),
      'move',
    );
  return { column, key, target: { existingColumn, uniqueIndex } };
}

async function tableOid(db: Kysely<any>, target: { schema: string; table: string }, name: string): Promise<number> {
  const { rows } = await sql<{ oid: number; relkind: string }>`
    SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = ${target.schema} AND c.relname = ${target.table}`.execute(db);
  const row = rows[0];
  if (!row) {
    const { rows: tables } = await sql<{ name: string }>`
      SELECT c.relname AS name FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = ${target.schema} AND c.relkind IN ('r', 'p')`.execute(db);
    throw new InputError(
      `table ${name} does not exist${didYouMean(
        target.table,
        tables.map((table) => table.name),
      )}`,
      {
        hint: 'check the table name; write schema.table.column for a table outside public, and quote names with capitals',
      },
    );
  }
  if (row.relkind === 'p')
    throw new InputError(movePartitionedReason(name), {
      hint: 'a move works between two ordinary (non-partitioned) tables; a rename of a column of a partitioned table is supported',
    });
  if (row.relkind !== 'r')
    throw new InputError(`${name} is not an ordinary table`, {
      hint: 'a move works between two ordinary (non-partitioned) tables',
    });
  return Number(row.oid);
}

async function attnums(db: Kysely<any>, oid: number, columns: string[], tableName: string): Promise<number[]> {
  const { rows } = await sql<{ name: string; attnum: number }>`
    SELECT attname AS name, attnum FROM pg_catalog.pg_attribute WHERE attrelid = ${oid} AND attnum > 0 AND NOT attisdropped`.execute(
    db,
  );
  return columns.map((column) => {
    const found = rows.find((row) => row.name === column);
    if (!found) {
      throw new InputError(
        `${tableName} has no column ${displayIdentifier(column)} (named in --on)${didYouMean(
          column,
          rows.map((row) => row.name),
        )}`,
        {
          hint: 'write --on <source column>=<target column>[,…], e.g. --on id=user_id',
        },
      );
    }
    return Number(found.attnum);
  });
}

/**
 * Each pair of join columns must have the same type once domains are resolved to their base type (a domain over
 * bigint joins a bigint), and the same collation. The sync triggers and the backfill compare them with `=`: with
 * `text = bigint` there is no operator and, after phase 1, every write to either table would fail. Types that
 * merely have a cross-type operator (integer = bigint, varchar = text) are refused too: strict and simple.
 */
async function requireMatchingJoinTypes(
  db: Kysely<any>,
  sourceOid: number,
  targetOid: number,
  on: JoinPair[],
  from: ColumnTarget,
  to: ColumnTarget,
): Promise<void> {
  for (const pair of on) {
    const source = await joinColumnType(db, sourceOid, pair.from);
    const target = await joinColumnType(db, targetOid, pair.to);
    if (source.baseOid === target.baseOid && source.collation === target.collation) continue;
    const what = source.baseOid === target.baseOid ? 'collations differ' : 'types differ';
    const describe = (column: typeof source) =>
      `${column.shown}${column.shown !== column.baseShown ? ` (a domain over ${column.baseShown})` : ''}${what === 'collations differ' ? ` COLLATE ${column.collation ?? 'none'}` : ''}`;
    const sourceColumn = displayColumn(from.schema, from.table, pair.from);
    const targetColumn = displayColumn(to.schema, to.table, pair.to);
    throw new InputError(
      `--on ${pair.from}=${pair.to}: ${sourceColumn} is ${describe(source)} but ${targetColumn} is ${describe(target)}; the join columns' ${what}. ` +
        'The sync triggers and the backfill compare them with =, so after phase 1 writes could fail (e.g. operator does not exist: bigint = text)',
      {
        hint:
          `join on columns of the same type (domains count as their base type) and collation: pick the matching column (usually --on <key>=<column referencing it>), ` +
          `or change ${targetColumn} to ${source.baseShown}${what === 'collations differ' && source.collation ? ` COLLATE ${source.collation}` : ''} first, then plan again`,
      },
    );
  }
}

async function joinColumnType(
  db: Kysely<any>,
  oid: number,
  column: string,
): Promise<{ baseOid: number; shown: string; baseShown: string; collation: string | undefined }> {
  const { rows } = await sql<{ base_oid: number; shown: string; base_shown: string; collation: string | null }>`
    WITH RECURSIVE input AS (
      SELECT a.atttypid FROM pg_catalog.pg_attribute a WHERE a.attrelid = ${oid} AND a.attname = ${column} AND a.attnum > 0 AND NOT a.attisdropped
    ), ${sql.raw(domainChainCtes('SELECT input.atttypid FROM input'))}
    SELECT b.base AS base_oid, pg_catalog.format_type(b.base, NULL) AS base_shown,
           pg_catalog.format_type(a.atttypid, a.atttypmod) AS shown,
           CASE WHEN a.attcollation <> 0 THEN pg_catalog.quote_ident(cn.nspname) || '.' || pg_catalog.quote_ident(co.collname) END AS collation
    FROM pg_catalog.pg_attribute a
    CROSS JOIN domain_base b
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
    WHERE a.attrelid = ${oid} AND a.attname = ${column} AND a.attnum > 0 AND NOT a.attisdropped`.execute(db);
  const row = rows[0]!;
  return {
    baseOid: Number(row.base_oid),
    shown: row.shown,
    baseShown: row.base_shown,
    collation: row.collation ?? undefined,
  };
}

/** Indexes and constraints that also name other source columns cannot be rebuilt on the target table. */
async function refuseCrossColumnObjects(
  db: Kysely<any>,
  oid: number,
  from: ColumnTarget,
  tableName: string,
): Promise<void> {
  const { rows } = await sql<{ name: string; kind: string }>`
    WITH moved AS (SELECT attnum FROM pg_catalog.pg_attribute WHERE attrelid = ${oid} AND attname = ${from.column})
    SELECT ic.relname AS name, 'index' AS kind
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid, moved
    WHERE i.indrelid = ${oid} AND NOT i.indisprimary
      AND (moved.attnum = ANY (i.indkey::int2[]) OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
             WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid AND d.refobjid = ${oid} AND d.refobjsubid = moved.attnum))
      AND (EXISTS (SELECT 1 FROM unnest(i.indkey::int2[]) AS k(n) WHERE k.n <> 0 AND k.n <> moved.attnum)
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = i.indexrelid
                        AND d.refobjid = ${oid} AND d.refobjsubid NOT IN (0, moved.attnum)))
    UNION ALL
    SELECT c.conname, 'constraint' FROM pg_catalog.pg_constraint c, moved
    WHERE c.conrelid = ${oid} AND c.contype IN ('c', 'u', 'f') AND moved.attnum = ANY (c.conkey) AND pg_catalog.cardinality(c.conkey) > 1
    ORDER BY 1`.execute(db);
  if (rows.length > 0) {
    throw new InputError(
      `${rows.map((row) => `${row.kind} ${displayIdentifier(row.name)}`).join(', ')} of ${tableName} also use(s) other columns than ${displayIdentifier(from.column)}; it cannot move to another table`,
      { hint: 'drop it before the move and create what you need on the target table yourself (after phase 1)' },
    );
  }
}

/** The source's join columns must identify one row: the key, or a unique index over NOT NULL columns. */
async function requireUniqueSourceJoin(
  db: Kysely<any>,
  oid: number,
  join: number[],
  key: KeyFacts,
  on: JoinPair[],
  tableName: string,
): Promise<void> {
  const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((name) => b.includes(name));
  if (
    sameSet(
      key.columns,
      on.map((pair) => pair.from),
    )
  )
    return;
  if (await uniqueIndexOver(db, oid, join, true)) return;
  throw new InputError(
    `the source join columns ${on.map((pair) => displayIdentifier(pair.from)).join(', ')} are not a unique NOT NULL key of ${tableName}`,
    {
      hint: `join on the source's key (${key.columns.join(', ')}), e.g. --on ${key.columns.map((column) => `${column}=<target column>`).join(',')}`,
    },
  );
}

async function uniqueIndexOver(
  db: Kysely<any>,
  oid: number,
  columns: number[],
  notNull: boolean,
): Promise<string | undefined> {
  const { rows } = await sql<{ name: string }>`
    SELECT ic.relname AS name
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    WHERE i.indrelid = ${oid} AND i.indisunique AND i.indisvalid AND i.indexprs IS NULL AND i.indpred IS NULL
      AND (SELECT array_agg(k.n ORDER BY k.n) FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) AS k(n))
          = (SELECT array_agg(c ORDER BY c) FROM unnest(${columns}::int2[]) AS c)
      AND (NOT ${notNull} OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
             WHERE a.attrelid = ${oid} AND a.attnum = ANY (${columns}::int2[]) AND NOT a.attnotnull))
    ORDER BY i.indisprimary DESC, ic.relname LIMIT 1`.execute(db);
  return rows[0]?.name;
}

async function requireUniqueTargetJoin(
  db: Kysely<any>,
  oid: number,
  join: number[],
  on: JoinPair[],
  to: ColumnTarget,
  tableName: string,
): Promise<string> {
  const found = await uniqueIndexOver(db, oid, join, false);
  if (found) return found;
  const columns = on.map((pair) => pair.to);
  const indexName = `${to.table}_${columns.join('_')}_key`.slice(0, 63);
  throw new InputError(
    `${tableName} has no UNIQUE index on (${columns.map(displayIdentifier).join(', ')}): the move needs one target row per source row`,
    {
      hint: `add it without blocking writes, then plan again: CREATE UNIQUE INDEX CONCURRENTLY ${quoteIdent(indexName)} ON ${qualify(to.schema, to.table)} (${columns.map(quoteIdent).join(', ')});`,
    },
  );
}

/** False when the target column is to be created; true when it exists with the same type and no conflicting value. */
async function checkExistingTargetColumn(
  db: Kysely<any>,
  oid: number,
  column: ColumnFacts,
  from: ColumnTarget,
  to: ColumnTarget,
  on: JoinPair[],
): Promise<boolean> {
  const { rows } = await sql<{ type: string; collation: string | null; generated: string; identity: string }>`
    SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) AS type, a.attgenerated AS generated, a.attidentity AS identity,
           CASE WHEN a.attcollation <> 0 AND a.attcollation <> t.typcollation
                THEN '"' || replace(cn.nspname, '"', '""') || '"."' || replace(co.collname, '"', '""') || '"' END AS collation
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation LEFT JOIN pg_catalog.pg_namespace cn ON cn.oid = co.collnamespace
    WHERE a.attrelid = ${oid} AND a.attname = ${to.column} AND a.attnum > 0 AND NOT a.attisdropped`.execute(db);
  const existing = rows[0];
  if (!existing) return false;
  const where = displayColumn(to.schema, to.table, to.column);
  if (existing.generated !== '' || existing.identity !== '') {
    throw new InputError(`${where} is a generated or identity column`, {
      hint: 'move into a plain column: choose another target column name',
    });
  }
  if (existing.type !== column.type || (existing.collation ?? undefined) !== column.collation) {
    throw new InputError(
      `${where} exists with type ${existing.type}${existing.collation ? ` COLLATE ${existing.collation}` : ''}, but the source column is ${column.type}${column.collation ? ` COLLATE ${column.collation}` : ''}`,
      {
        hint: 'a move keeps the type: choose another target column name, or change the type first (a rename with --type)',
      },
    );
  }
  const source = qualify(from.schema, from.table);
  const target = qualify(to.schema, to.table);
  const join = on.map((pair) => `t.${quoteIdent(pair.to)} = s.${quoteIdent(pair.from)}`).join(' AND ');
  const { rows: conflicts } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM ${sql.raw(target)} AS t
    WHERE t.${sql.raw(quoteIdent(to.column))} IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM ${sql.raw(source)} AS s WHERE ${sql.raw(join)}
                        AND s.${sql.raw(quoteIdent(from.column))} IS NOT DISTINCT FROM t.${sql.raw(quoteIdent(to.column))})`.execute(
    db,
  );
  const count = Number(conflicts[0]?.n ?? 0);
  if (count > 0) {
    throw new InputError(
      `${where} already exists and ${count} of its rows hold a value that is not their source row's ${from.column}`,
      {
        hint: `the target column must be all NULL or equal to the source: clear it (UPDATE ${target} SET ${quoteIdent(to.column)} = NULL) or choose another target column`,
      },
    );
  }
  return true;
}
