import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import { defaultTemplatesDir } from '../render/environment.js';
import {
  UNTRUSTED_CODE_FUNCTION,
  UNTRUSTED_CODE_FUNCTION_CONFIG,
  untrustedCodeFunctionBody,
  untrustedCodeFunctionSql,
} from '../render/untrusted-code-check.js';
import { pgError } from './pg-error.js';

/**
 * phasectl's own bookkeeping, created idempotently at the start of every run (see docs/internals.md).
 * `history` is a runner addition: every file run (up and down), so a rollback leaves a trace.
 */
export const stateSchemaSql = `
CREATE SCHEMA IF NOT EXISTS phasectl;
CREATE TABLE IF NOT EXISTS phasectl.migrations (
  name text PRIMARY KEY, checksum text NOT NULL, change_id text, phase int, direction text,
  release text, applied_at timestamptz NOT NULL DEFAULT now(), duration_ms bigint);
CREATE TABLE IF NOT EXISTS phasectl.changes (
  id text PRIMARY KEY, phase int NOT NULL, release text, updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS phasectl.backfills (
  change_id text NOT NULL, direction text NOT NULL, upper_key jsonb, last_key jsonb,
  rows_done bigint NOT NULL DEFAULT 0, rows_estimated bigint, started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz, PRIMARY KEY (change_id, direction));
CREATE TABLE IF NOT EXISTS phasectl.verifications (
  change_id text PRIMARY KEY, differing bigint NOT NULL, checked_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS phasectl.history (
  id bigserial PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, change_id text, phase int,
  direction text, release text, ran_at timestamptz NOT NULL DEFAULT now(), duration_ms bigint);
`;

/**
 * State schemas created before duration_ms was bigint (an int overflows after 24.8 days, a long backfill's
 * reach): widened in place. Changing int to bigint rewrites the table under ACCESS EXCLUSIVE, which is brief
 * here (one row per migration file) and taken under the same short lock_timeout as the creation; only
 * phasectl reads these tables. Idempotent: only columns still int are altered, and only in tables this role owns
 * (an int column still works; a role that may not alter them must not fail every run).
 */
const widenDurationsSql = `
DO $phasectl$
DECLARE
  target record;
BEGIN
  FOR target IN
    SELECT c.relname FROM pg_catalog.pg_attribute a
      JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE n.nspname OPERATOR(pg_catalog.=) 'phasectl' AND c.relname OPERATOR(pg_catalog.=) ANY ('{migrations,history}'::pg_catalog.name[])
       AND a.attname OPERATOR(pg_catalog.=) 'duration_ms' AND a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.int4'::pg_catalog.regtype
       AND pg_catalog.pg_has_role(c.relowner, 'USAGE')
     ORDER BY c.relname
  LOOP
    EXECUTE pg_catalog.format('ALTER TABLE phasectl.%I ALTER COLUMN duration_ms TYPE pg_catalog.int8', target.relname);
  END LOOP;
END
$phasectl$;
`;

/**
 * How many state columns still need widenDurationsSql (0 on a current schema): the same two tables, found by name
 * (pg_class's index on name and schema; by schema alone it scanned pg_class whole, ~2-3 ms at 12,000 relations).
 */
const narrowDurationsSql = `
SELECT pg_catalog.count(*) AS n FROM pg_catalog.pg_attribute a
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) a.attrelid
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE n.nspname OPERATOR(pg_catalog.=) 'phasectl' AND c.relname OPERATOR(pg_catalog.=) ANY ('{migrations,history}'::pg_catalog.name[])
   AND a.attname OPERATOR(pg_catalog.=) 'duration_ms'
   AND a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.int4'::pg_catalog.regtype
   AND pg_catalog.pg_has_role(c.relowner, 'USAGE')`;

/**
 * Ensures the state schema exists and is safe to use (see requireTrustedStateSchema). Creation runs in one
 * short transaction under a 5s lock_timeout: if another session holds a lock on these tables we fail fast
 * rather than queue the app behind us.
 */
export async function ensureStateSchema(client: pg.ClientBase): Promise<void> {
  await requireTrustedStateSchema(client);
  // Skip the DDL when everything is there: CREATE ... IF NOT EXISTS still takes locks.
  const { rows } = await client.query<{ n: string }>(
    `SELECT pg_catalog.count(*) AS n FROM pg_catalog.pg_tables
      WHERE schemaname OPERATOR(pg_catalog.=) 'phasectl'
        AND tablename OPERATOR(pg_catalog.=) ANY ('{migrations,changes,backfills,verifications,history}'::pg_catalog.name[])`,
  );
  const narrow = await client.query<{ n: string }>(narrowDurationsSql);
  const installCheck = await checkFunctionToInstall(client);
  if (rows[0]?.n === '5' && narrow.rows[0]?.n === '0' && !installCheck) return;
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = '5s'`);
    // Serialise concurrent first runs: two CREATE TABLE IF NOT EXISTS can otherwise race on pg_type.
    await client.query(`SELECT pg_catalog.pg_advisory_xact_lock(${STATE_SCHEMA_LOCK_KEY})`);
    await client.query(stateSchemaSql);
    await client.query(widenDurationsSql);
    if (await checkFunctionToInstall(client)) await client.query(untrustedCodeFunctionSql());
    // Again inside the transaction: another role may have created the schema since the first look.
    await requireTrustedStateSchema(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Whether phasectl.refuse_untrusted_code (the check generated files call, src/render/untrusted-code-check.ts) is
 * missing or older than this phasectl's (its body, or without `SET jit = off`), in a schema this role may create it in (an older phasectl created the schema
 * without it; a role that may only read the state leaves it as it is, as it leaves the tables).
 */
async function checkFunctionToInstall(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ install: boolean }>(
    `SELECT (p.oid IS NULL OR p.prosrc OPERATOR(pg_catalog.<>) $2
               OR NOT coalesce($3 OPERATOR(pg_catalog.=) ANY (p.proconfig), false))
              AND pg_catalog.has_schema_privilege(n.oid, 'CREATE')
              AND (p.oid IS NULL OR pg_catalog.pg_has_role(p.proowner, 'USAGE')) AS install
       FROM pg_catalog.pg_namespace AS n
       LEFT JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure($1)
      WHERE n.nspname OPERATOR(pg_catalog.=) 'phasectl'`,
    [UNTRUSTED_CODE_FUNCTION, untrustedCodeFunctionBody(), UNTRUSTED_CODE_FUNCTION_CONFIG],
  );
  return rows[0]?.install === true;
}

/**
 * Refuses (exit 3, naming the owner) a `phasectl` schema that another role could use to run code with our
 * rights: it, its tables, functions and other objects must belong to the current role, a role it is a member of, or a
 * superuser; no trigger, rule or policy may sit on its tables; no other role may create objects in it or triggers on
 * its tables. Does nothing while the schema does not exist. Every command runs this before it reads or writes the
 * state, and again before each later use another role could have changed the schema for (see docs/internals.md,
 * "State schema trust"). The check is the generated files' own guard (templates/shared/state-schema-guard.hbs), read
 * from phasectl's own templates so a project's template folder cannot weaken it. Its query runs as a prepared
 * statement (planned once per connection: ~0.3 ms, whatever the size of the catalog); when it finds anything, the
 * guard's block runs and raises with its own message, detail and hint.
 */
export async function requireTrustedStateSchema(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ problems: string | null }>({
    name: GUARD_STATEMENT,
    text: stateSchemaGuardQuery(),
  });
  if (rows[0]?.problems == null) return;
  try {
    await client.query(stateSchemaGuardSql());
  } catch (error) {
    const fields = pgError(error);
    if (fields?.code === '42501' && fields.message.startsWith('phasectl: refusing schema phasectl')) {
      throw new RuntimeFailure(`${fields.message.replace(/^phasectl: /, '')}\n  ${fields.detail ?? ''}`.trimEnd(), {
        hint: fields.hint,
        cause: error,
      });
    }
    throw error;
  }
}

/** Name of the guard's prepared statement in each session (pg prepares it on first use, per connection). */
const GUARD_STATEMENT = 'phasectl_state_schema_guard';

let guardSql: string | undefined;
function stateSchemaGuardSql(): string {
  guardSql ??= readFileSync(join(defaultTemplatesDir, 'shared', 'state-schema-guard.hbs'), 'utf8');
  return guardSql;
}

const GUARD_QUERY_START = '  WITH RECURSIVE member_of(role) AS (';
const GUARD_QUERY_END =
  "  SELECT pg_catalog.string_agg(found.line, '; ' ORDER BY found.line) INTO problems FROM found;";

let guardQuery: string | undefined;
/**
 * The guard's query as a plain SELECT of `problems` (NULL: nothing found), cut from the block so that both always
 * check the same: from its `WITH RECURSIVE member_of` to its `string_agg … INTO problems`.
 */
export function stateSchemaGuardQuery(): string {
  if (guardQuery) return guardQuery;
  const block = stateSchemaGuardSql();
  const start = block.indexOf(GUARD_QUERY_START);
  const end = block.indexOf(GUARD_QUERY_END);
  if (start < 0 || end < start) throw new Error('templates/shared/state-schema-guard.hbs: its query was not found');
  guardQuery = `${block.slice(start, end)}  SELECT pg_catalog.string_agg(found.line, '; ' ORDER BY found.line) AS problems FROM found`;
  return guardQuery;
}

/** Transaction-level advisory lock key used only while creating the state schema. */
const STATE_SCHEMA_LOCK_KEY = 1885888884;
