import type pg from 'pg';

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
 * Ensures the state schema exists. Runs in one short transaction under a 5s lock_timeout:
 * if another session holds a lock on these tables we fail fast rather than queue the app behind us.
 */
export async function ensureStateSchema(client: pg.ClientBase): Promise<void> {
  // Skip the DDL when everything is there: CREATE ... IF NOT EXISTS still takes locks.
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM pg_catalog.pg_tables
      WHERE schemaname = 'phasectl' AND tablename IN ('migrations','changes','backfills','verifications','history')`,
  );
  if (rows[0]?.n === '5') return;
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL lock_timeout = '5s'`);
    // Serialise concurrent first runs: two CREATE TABLE IF NOT EXISTS can otherwise race on pg_type.
    await client.query(`SELECT pg_advisory_xact_lock(${STATE_SCHEMA_LOCK_KEY})`);
    await client.query(stateSchemaSql);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Transaction-level advisory lock key used only while creating the state schema. */
const STATE_SCHEMA_LOCK_KEY = 1885888884;
