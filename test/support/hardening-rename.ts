import pg from 'pg';
import { readRenameFacts } from '../../src/catalog/column-facts.js';
import { connect } from '../../src/db/connect.js';
import { phaseSteps } from '../../src/operations/index.js';
import type { PhaseSteps } from '../../src/operations/types.js';
import type { PhaseNumber, RenameChange } from '../../src/spec/types.js';
import { applySteps } from './apply-sql.js';

/**
 * Hardening helpers: plan a rename from the live catalog (the same reader `phasectl plan` uses),
 * run its whole lifecycle through the generated SQL, and take inventories of every object in a
 * database so a test can prove nothing else was created, dropped or injected.
 */

/** Reads the facts with the catalog module and returns a change already released in 1, 2, 3. */
export async function plannedRename(
  url: string,
  target: { schema: string; table: string; column: string },
  to: string,
  id = 'hardening-change',
): Promise<RenameChange> {
  const connection = await connect(url, { max: 1, applicationName: 'phasectl hardening' });
  try {
    const { column, key, foreignKeys } = await readRenameFacts(connection.db, target, to);
    return {
      kind: 'rename',
      id,
      rename: { schema: target.schema, table: target.table, from: target.column, to },
      column,
      key,
      ...(foreignKeys.length === 0 ? {} : { dependents: { foreignKeys, functions: [], triggers: [] } }),
      releases: { phase1: '1', phase2: '2', phase3: '3' },
    };
  } finally {
    await connection.close();
  }
}

/** The same refusal `phasectl plan` would print, or undefined when the column can be planned. */
export async function planError(
  url: string,
  target: { schema: string; table: string; column: string },
  to: string,
): Promise<unknown> {
  try {
    await plannedRename(url, target, to);
    return undefined;
  } catch (error) {
    return error;
  }
}

export interface Lifecycle {
  phases: Record<PhaseNumber, PhaseSteps>;
  up(phase: PhaseNumber): Promise<void>;
  down(phase: PhaseNumber): Promise<void>;
}

/** Applies phases through the generated files, the way a plain SQL runner would (DO blocks for backfill/verify). */
export function lifecycle(client: pg.ClientBase, change: RenameChange): Lifecycle {
  const phases = { 1: phaseSteps(change, 1), 2: phaseSteps(change, 2), 3: phaseSteps(change, 3) };
  return {
    phases,
    up: (phase) => applySteps(client, phases[phase].up),
    down: (phase) => applySteps(client, phases[phase].down),
  };
}

/**
 * Every user-visible object of the database outside the phasectl schema, as sorted text lines:
 * schemas, relations (with kind), columns (type, NOT NULL, default), constraints, indexes, triggers,
 * functions, operators, types, policies, publications (roles are cluster-wide and other test files create them). Equal inventories = nothing created or lost.
 */
export async function inventory(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(`
    WITH ns AS (SELECT oid, nspname FROM pg_namespace
                WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'phasectl') AND nspname NOT LIKE 'pg\\_temp%' AND nspname NOT LIKE 'pg\\_toast%')
    SELECT 'schema ' || quote_ident(nspname) AS line FROM ns
    UNION ALL SELECT 'relation ' || c.relkind::text || ' ' || c.oid::regclass::text FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    UNION ALL SELECT 'column ' || a.attrelid::regclass::text || '.' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                 || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN ns ON ns.oid = c.relnamespace
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm')
    UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || quote_ident(conname) || ' ' || pg_get_constraintdef(oid) || ' valid=' || convalidated
              FROM pg_constraint WHERE connamespace IN (SELECT oid FROM ns)
    UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid) || ' valid=' || i.indisvalid
              FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN ns ON ns.oid = c.relnamespace
    UNION ALL SELECT 'trigger ' || tgrelid::regclass::text || ' ' || quote_ident(tgname) FROM pg_trigger t
              JOIN pg_class c ON c.oid = t.tgrelid JOIN ns ON ns.oid = c.relnamespace WHERE NOT t.tgisinternal
    UNION ALL SELECT 'function ' || p.oid::regprocedure::text FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
    UNION ALL SELECT 'operator ' || o.oid::regoperator::text FROM pg_operator o JOIN ns ON ns.oid = o.oprnamespace
    UNION ALL SELECT 'type ' || t.oid::regtype::text FROM pg_type t JOIN ns ON ns.oid = t.typnamespace WHERE t.typrelid = 0 AND t.typelem = 0
    UNION ALL SELECT 'policy ' || polrelid::regclass::text || ' ' || quote_ident(polname) FROM pg_policy
    UNION ALL SELECT 'publication ' || quote_ident(pubname) FROM pg_publication
    ORDER BY 1`);
  return rows.map((row) => row.line);
}

/** What phasectl leaves in its own schema after every down ran: the state tables and the trust check only. */
export async function phasectlLeftovers(client: pg.ClientBase): Promise<string[]> {
  const { rows } = await client.query<{ line: string }>(`
    SELECT 'relation ' || c.relkind::text || ' ' || c.relname AS line FROM pg_class c WHERE c.relnamespace = to_regnamespace('phasectl') AND c.relkind IN ('r', 'v', 'm', 'S')
    UNION ALL SELECT 'function ' || p.proname FROM pg_proc p WHERE p.pronamespace = to_regnamespace('phasectl')
    ORDER BY 1`);
  return rows.map((row) => row.line);
}

/** The state tables and the function phasectl's own SQL creates (templates/shared/state-schema.hbs). */
export const stateTables = [
  'function refuse_untrusted_code',
  'relation r backfills',
  'relation r changes',
  'relation r migrations',
  'relation r verifications',
];
