import pg from 'pg';
import type { PhaseSteps, Step } from '../../src/operations/types.js';
import { splitStatements } from '../../src/sql/split-statements.js';

/**
 * Applies one generated step the way a plain runner would: a transactional file as
 * `BEGIN; …; COMMIT` in one query; any other file (CONCURRENTLY, the DO blocks of backfill/verify)
 * statement by statement outside a transaction.
 */
export async function applyStep(client: pg.ClientBase, step: Step): Promise<void> {
  if (step.transaction) {
    try {
      await client.query(`BEGIN;\n${step.sql}\nCOMMIT;`);
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
    return;
  }
  for (const statement of splitStatements(step.sql)) await client.query(statement);
}

/** Applies the steps in order, each `times` times in a row (2 proves every file can be re-run). */
export async function applySteps(client: pg.ClientBase, steps: Step[], times = 1): Promise<void> {
  for (const step of steps) {
    for (let i = 0; i < times; i++) await applyStep(client, step);
  }
}

/** Applies the up (or down) steps of a phase, each twice. */
export async function applyPhase(client: pg.ClientBase, steps: PhaseSteps, direction: 'up' | 'down'): Promise<void> {
  await applySteps(client, steps[direction], 2);
}

/**
 * Everything about a table a migration may change, in a stable order: columns (type, NOT NULL, default,
 * collation), constraints (pg_get_constraintdef, validated), indexes (pg_get_indexdef, valid), triggers,
 * and phasectl's functions (but the state schema's own, refuse_untrusted_code). Two equal snapshots mean the same schema (column order aside).
 */
export async function catalogSnapshot(client: pg.ClientBase, qualifiedTable: string): Promise<unknown> {
  const { rows } = await client.query<{ snapshot: unknown }>(
    `SELECT json_build_object(
       'columns', (SELECT json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod),
                     'notNull', a.attnotnull, 'default', pg_get_expr(d.adbin, d.adrelid), 'collation', a.attcollation::regcollation::text)
                     ORDER BY a.attname)
                   FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                   WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped),
       'constraints', (SELECT json_agg(json_build_object('name', c.conname, 'definition', pg_get_constraintdef(c.oid),
                         'validated', c.convalidated) ORDER BY c.conname)
                       FROM pg_constraint c WHERE c.conrelid = $1::regclass),
       'indexes', (SELECT json_agg(json_build_object('definition', pg_get_indexdef(i.indexrelid), 'valid', i.indisvalid)
                     ORDER BY pg_get_indexdef(i.indexrelid))
                   FROM pg_index i WHERE i.indrelid = $1::regclass),
       'triggers', (SELECT json_agg(t.tgname ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = $1::regclass AND NOT t.tgisinternal),
       'functions', (SELECT json_agg(p.proname ORDER BY p.proname) FROM pg_proc p WHERE p.pronamespace = to_regnamespace('phasectl')
                                    AND p.proname <> 'refuse_untrusted_code')
     ) AS snapshot`,
    [qualifiedTable],
  );
  return rows[0]?.snapshot;
}

/**
 * Reads the column facts the way the catalog module reports them (pg_get_indexdef, pg_get_constraintdef),
 * for fixtures whose exact catalog text is tedious to write by hand.
 */
export async function readColumnFacts(client: pg.ClientBase, qualifiedTable: string, column: string) {
  const {
    rows: [attribute],
  } = await client.query(
    `SELECT format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null, pg_get_expr(d.adbin, d.adrelid) AS default,
            CASE WHEN a.attcollation <> t.typcollation THEN a.attcollation::regcollation::text END AS collation, a.attnum
     FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = $1::regclass AND a.attname = $2`,
    [qualifiedTable, column],
  );
  const { rows: indexes } = await client.query(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition, i.indisunique AS unique, con.conname AS constraint
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
     WHERE i.indrelid = $1::regclass AND NOT i.indisprimary AND ($2 = ANY (i.indkey::int2[]) OR EXISTS (
       SELECT 1 FROM pg_depend dep WHERE dep.classid = 'pg_class'::regclass AND dep.objid = i.indexrelid
         AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid = i.indrelid AND dep.refobjsubid = $2))
     ORDER BY 1`,
    [qualifiedTable, attribute.attnum],
  );
  const { rows: constraints } = await client.query(
    `SELECT conname AS name, CASE contype WHEN 'c' THEN 'check' WHEN 'u' THEN 'unique' ELSE 'foreign_key' END AS kind,
            pg_get_constraintdef(oid) AS definition
     FROM pg_constraint WHERE conrelid = $1::regclass AND contype IN ('c', 'u', 'f') AND $2 = ANY (conkey) ORDER BY 1`,
    [qualifiedTable, attribute.attnum],
  );
  return {
    type: attribute.type as string,
    ...(attribute.collation ? { collation: attribute.collation as string } : {}),
    nullable: !attribute.not_null,
    ...(attribute.default !== null ? { default: attribute.default as string } : {}),
    indexes: indexes.map((index) => ({
      name: index.name as string,
      definition: index.definition as string,
      unique: index.unique as boolean,
      ...(index.constraint ? { constraint: index.constraint as string } : {}),
    })),
    constraints: constraints as Array<{ name: string; kind: 'check' | 'unique' | 'foreign_key'; definition: string }>,
  };
}
