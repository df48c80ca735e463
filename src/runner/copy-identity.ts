import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import { qualify, quoteIdent } from '../render/quote.js';
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import type { Change } from '../spec/types.js';

/**
 * Rolling back phase 1 drops what phase 1 added: the copies of the column's indexes (drop-indexes), then the new
 * column itself (shrink), and with it every other index on it. A user who pointed the table's REPLICA IDENTITY at one
 * of them (`ALTER TABLE … REPLICA IDENTITY USING INDEX <copy>`, the new column made NOT NULL for it) would be left with
 * REPLICA IDENTITY USING INDEX of no index: PostgreSQL then treats the table as having no identity, and every UPDATE
 * and DELETE of it fails while a publication publishes them. Refused before the first down file (nothing changed).
 *
 * Refused rather than pointed back at the old column's index: the identity is the key logical decoding sends for
 * each changed row, and the user chose this one; another one silently changes the key subscribers and CDC consumers
 * receive (a subscriber whose own identity is on the new column stops applying), and nothing records what the
 * identity was before (the primary key, perhaps). The user picks, with the statements named.
 */
export async function refuseCopyReplicaIdentity(session: pg.ClientBase, change: Change, again: string): Promise<void> {
  // A move onto a column the target table already had: phase 1's downs keep the column, and an identity index of its
  // own is not theirs to drop (one of phase 1's copies is refused by the drop-indexes file's own guard).
  if (change.kind === 'move' && change.target.existingColumn) return;
  const copy =
    change.kind === 'rename'
      ? { schema: change.rename.schema, table: change.rename.table, column: change.rename.to }
      : change.move.to;
  const original =
    change.kind === 'rename'
      ? { schema: change.rename.schema, table: change.rename.table, column: change.rename.from }
      : undefined;
  // The identity index of the table (or of one of its partitions) that depends on the new column: its key, an
  // expression or its predicate.
  const { rows } = await session.query<{ schema: string; table: string; index: string; relid: string }>(
    `SELECT DISTINCT n.nspname::pg_catalog.text AS schema, t.relname::pg_catalog.text AS table,
            x.relname::pg_catalog.text AS index, i.indrelid::pg_catalog.text AS relid
       FROM pg_catalog.pg_index i
       JOIN pg_catalog.pg_class t ON t.oid OPERATOR(pg_catalog.=) i.indrelid
       JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) t.relnamespace
       JOIN pg_catalog.pg_class x ON x.oid OPERATOR(pg_catalog.=) i.indexrelid
       JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
       JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
        AND d.objid OPERATOR(pg_catalog.=) i.indexrelid
        AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
        AND d.refobjid OPERATOR(pg_catalog.=) a.attrelid AND d.refobjsubid OPERATOR(pg_catalog.=) a.attnum
      WHERE i.indisreplident AND a.attname OPERATOR(pg_catalog.=) $2 AND NOT a.attisdropped
        AND (i.indrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
             OR i.indrelid OPERATOR(pg_catalog.=) ANY (
                  SELECT tree.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass($1)) AS tree))
      ORDER BY 1, 2, 3`,
    [qualify(copy.schema, copy.table), copy.column],
  );
  if (rows.length === 0) return;
  const fixes: string[] = [];
  for (const row of rows) {
    const table = qualify(row.schema, row.table);
    // The old column's own unique indexes that can be the identity (valid, immediate, whole-table, plain columns, all
    // NOT NULL): usually the one phase 1 copied.
    const { rows: candidates } =
      original === undefined
        ? { rows: [] as Array<{ name: string }> }
        : await session.query<{ name: string }>(
            `SELECT c.relname::pg_catalog.text AS name
               FROM pg_catalog.pg_index i
               JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid
               JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
                AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey::pg_catalog.int2[])
              WHERE i.indrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid AND a.attname OPERATOR(pg_catalog.=) $2
                AND i.indisunique AND i.indisvalid AND i.indimmediate AND i.indpred IS NULL AND i.indexprs IS NULL
                AND NOT i.indisreplident
                AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute k
                                 WHERE k.attrelid OPERATOR(pg_catalog.=) i.indrelid
                                   AND k.attnum OPERATOR(pg_catalog.=) ANY (i.indkey::pg_catalog.int2[])
                                   AND NOT k.attnotnull)
              ORDER BY 1`,
            [row.relid, original.column],
          );
    const usingIndex = candidates.map(
      ({ name }) => `ALTER TABLE ${table} REPLICA IDENTITY USING INDEX ${quoteIdent(name)};`,
    );
    fixes.push([...usingIndex, `ALTER TABLE ${table} REPLICA IDENTITY DEFAULT;`].join(' or '));
  }
  const list = rows
    .map(
      (row) =>
        `the replica identity of ${displayColumn(row.schema, row.table)} is index ${displayIdentifier(row.index)}`,
    )
    .join('; ');
  throw new RuntimeFailure(
    `phase 1 of ${change.id} cannot be rolled back as things stand: its down files drop ${displayColumn(copy.schema, copy.table, copy.column)} and the indexes on it, and ${list}: the table would be left with REPLICA IDENTITY USING INDEX of no index, and every UPDATE and DELETE of it would fail while a publication publishes them; nothing was changed`,
    {
      hint: `point the identity elsewhere first, after checking which key your subscribers and CDC consumers expect: ${fixes.join('; ')} (DEFAULT: the primary key). Then ${again}`,
    },
  );
}
