import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { columnMentionCondition } from '../operations/column-mention.js';
import { qualify } from '../render/quote.js';
import { displayColumn } from '../spec/identifiers.js';
import { userFunctionCondition, type FunctionSource } from '../dependents/functions.js';

/**
 * User-defined functions and procedures (not in pg_catalog, information_schema or phasectl, not an extension's,
 * not C or internal) whose source mentions `column` as a word: the same text match as phase 3's guard
 * (src/dependents/functions.ts). Refuses SQL-standard bodies (`BEGIN ATOMIC`) that PostgreSQL binds to the column.
 */
export async function functionsMentioningColumn(
  db: Kysely<any>,
  target: { schema: string; table: string; column: string },
): Promise<FunctionSource[]> {
  const table = qualify(target.schema, target.table);
  const { rows: atomic } = await sql<{ name: string }>`
    SELECT DISTINCT p.oid::pg_catalog.regprocedure::text AS name
    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
    JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) d.refobjid AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
    WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
      AND d.refobjid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${table}) AND a.attname OPERATOR(pg_catalog.=) ${target.column}
    ORDER BY 1`.execute(db);
  if (atomic.length > 0) {
    const names = atomic.map((row) => row.name).join(', ');
    throw new InputError(
      `${displayColumn(target.schema, target.table, target.column)} is used by the SQL-standard body (BEGIN ATOMIC) of ${names}; PostgreSQL binds such a body to the column, so phase 3 could not drop it`,
      {
        hint: 'rewrite the function with a string body (CREATE OR REPLACE FUNCTION … AS $$ … $$), plan again, and point it at the new column in the release of phase 2',
      },
    );
  }
  return functionSources(db, table, target.column);
}

/**
 * User functions and procedures whose source mentions the table's name as a word: the candidates for statements
 * that map its columns by position (src/dependents/column-order.ts), which need not name the column at all.
 */
export async function functionsMentioningTable(
  db: Kysely<any>,
  target: { schema: string; table: string },
): Promise<FunctionSource[]> {
  return functionSources(db, qualify(target.schema, target.table), target.table, true);
}

/** Where the column sits among the table's live columns (1-based), and how many there are. */
export async function columnLayout(
  db: Kysely<any>,
  target: { schema: string; table: string; column: string },
): Promise<{ position: number; columns: number }> {
  const { rows } = await sql<{ position: number | null; columns: number }>`
    SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute b
             WHERE b.attrelid OPERATOR(pg_catalog.=) c.oid AND b.attnum OPERATOR(pg_catalog.>) 0 AND NOT b.attisdropped
               AND b.attnum OPERATOR(pg_catalog.<=) a.attnum)::int AS position,
           (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute b
             WHERE b.attrelid OPERATOR(pg_catalog.=) c.oid AND b.attnum OPERATOR(pg_catalog.>) 0 AND NOT b.attisdropped)::int AS columns
    FROM pg_catalog.pg_class c
    LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) c.oid AND a.attname OPERATOR(pg_catalog.=) ${target.column}
    WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${qualify(target.schema, target.table)})`.execute(db);
  const row = rows[0];
  return { position: row?.position ?? 0, columns: row?.columns ?? 0 };
}

/**
 * The user functions whose source mentions `word` (see userFunctionCondition), with what the parser needs;
 * `rowUsers`: also the trigger functions of the table and the functions taking its row.
 */
async function functionSources(
  db: Kysely<any>,
  table: string,
  word: string,
  rowUsers = false,
): Promise<FunctionSource[]> {
  const { rows } = await sql<FunctionSource>`
    SELECT p.oid::pg_catalog.regprocedure::text AS name, l.lanname::text AS language, p.prosrc AS source,
           pg_catalog.md5(p.prosrc) AS fingerprint,
           p.prorettype OPERATOR(pg_catalog.=) 'pg_catalog.trigger'::pg_catalog.regtype AS "returnsTrigger",
           -- The table's rows are also those of its partitions (same columns): a trigger on a partition is on it
           -- (pg_partition_tree lists nothing for a table that is not partitioned).
           EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgfoid OPERATOR(pg_catalog.=) p.oid
                     AND (t.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${table})
                          OR t.tgrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT tree.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass(${table})) AS tree)))) AS "onThisTable",
           EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgfoid OPERATOR(pg_catalog.=) p.oid
                     AND t.tgrelid OPERATOR(pg_catalog.<>) pg_catalog.to_regclass(${table})
                     AND t.tgrelid OPERATOR(pg_catalog.<>) ALL (ARRAY(SELECT tree.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass(${table})) AS tree))) AS "onOtherTable",
           -- The arguments of the table's row type, by name and as $n (input arguments only).
           pg_catalog.array_cat(
             ARRAY(SELECT p.proargnames[a.n] FROM pg_catalog.unnest(COALESCE(p.proallargtypes, p.proargtypes::pg_catalog.oid[])) WITH ORDINALITY AS a(type, n)
                    WHERE a.type OPERATOR(pg_catalog.=) (SELECT c.reltype FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${table}))
                      AND COALESCE(p.proargnames[a.n], '') OPERATOR(pg_catalog.<>) ''),
             ARRAY(SELECT '$' OPERATOR(pg_catalog.||) a.n FROM pg_catalog.unnest(p.proargtypes::pg_catalog.oid[]) WITH ORDINALITY AS a(type, n)
                    WHERE a.type OPERATOR(pg_catalog.=) (SELECT c.reltype FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${table})))
           )::pg_catalog.text[] AS "rowArguments"
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
    JOIN pg_catalog.pg_language l ON l.oid OPERATOR(pg_catalog.=) p.prolang
    WHERE ${sql.raw(userFunctionCondition('p', 'n', 'l'))}
      AND (${sql.raw(columnMentionCondition('p.prosrc', word))}
           -- A trigger function on the table (NEW.*, OLD.*) or one taking its row need not name it.
           OR (${rowUsers} AND (
                EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t WHERE t.tgfoid OPERATOR(pg_catalog.=) p.oid
                          AND (t.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${table})
                               OR t.tgrelid OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT tree.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass(${table})) AS tree))))
                OR (SELECT c.reltype FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass(${table}))
                   OPERATOR(pg_catalog.=) ANY (p.proargtypes::pg_catalog.oid[]))))
    ORDER BY 1`.execute(db);
  return rows;
}
