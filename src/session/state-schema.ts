import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import { defaultTemplatesDir } from '../render/environment.js';
import { pgError } from './pg-error.js';

/**
 * phasectl's own bookkeeping, created idempotently at the start of every run (see docs/internals.md).
 * `history` is a runner addition: every file run (up and down), so a rollback leaves a trace.
 */
export const stateSchemaSql = `
CREATE SCHEMA IF NOT EXISTS phasectl;
CREATE TABLE IF NOT EXISTS phasectl.migrations (
  name text PRIMARY KEY, checksum text NOT NULL, change_id text, phase int, direction text,
  release text, applied_at timestamptz NOT NULL DEFAULT now(), duration_ms int);
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
  direction text, release text, ran_at timestamptz NOT NULL DEFAULT now(), duration_ms int);
`;

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
  if (rows[0]?.n === '5') return;
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = '5s'`);
    // Serialise concurrent first runs: two CREATE TABLE IF NOT EXISTS can otherwise race on pg_type.
    await client.query(`SELECT pg_catalog.pg_advisory_xact_lock(${STATE_SCHEMA_LOCK_KEY})`);
    await client.query(stateSchemaSql);
    // Again inside the transaction: another role may have created the schema since the first look.
    await requireTrustedStateSchema(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * Refuses (exit 3, naming the owner) a `phasectl` schema that another role could use to run code with our
 * rights: it, its tables, functions and other objects must belong to the current role, a role it is a member
 * of, or a superuser; no trigger, rule or policy may sit on its tables; no other role may create objects in
 * it or triggers on its tables. Does nothing while the schema does not exist. Every command runs this before
 * it reads or writes the state. The check is the generated files' own guard (templates/shared/state-schema-guard.hbs),
 * read from phasectl's own templates so a project's template folder cannot weaken it.
 */
export async function requireTrustedStateSchema(client: pg.ClientBase): Promise<void> {
  try {
    await client.query(stateSchemaGuardSql());
  } catch (error) {
    const fields = pgError(error);
    if (fields?.code === '42501' && fields.message.startsWith('phasectl: refusing schema phasectl')) {
      throw new RuntimeFailure(`${fields.message.replace(/^phasectl: /, '')}\n  ${fields.detail ?? ''}`.trimEnd(), { hint: fields.hint, cause: error });
    }
    throw error;
  }
}

let guardSql: string | undefined;
function stateSchemaGuardSql(): string {
  guardSql ??= readFileSync(join(defaultTemplatesDir, 'shared', 'state-schema-guard.hbs'), 'utf8');
  return guardSql;
}

/** Transaction-level advisory lock key used only while creating the state schema. */
const STATE_SCHEMA_LOCK_KEY = 1885888884;
