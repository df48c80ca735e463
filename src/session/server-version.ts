import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';

/** The oldest server phasectl generates SQL for (CREATE OR REPLACE TRIGGER, …). */
export const MIN_SERVER_VERSION_NUM = 140000;

/**
 * Refuses servers older than PostgreSQL 14 before anything runs: the generated SQL uses
 * CREATE OR REPLACE TRIGGER (14+) and relies on 12+ skipping the scan of SET NOT NULL behind a valid check.
 */
export async function requireSupportedServer(session: pg.ClientBase): Promise<void> {
  const { rows } = await session.query<{ num: string; display: string }>(
    `SELECT pg_catalog.current_setting('server_version_num') AS num, pg_catalog.current_setting('server_version') AS display`,
  );
  const problem = unsupportedServer(Number(rows[0]?.num), rows[0]?.display ?? '?');
  if (problem) throw problem;
}

/** The error for a server_version_num phasectl does not support, or undefined. Pure. */
export function unsupportedServer(versionNum: number, display: string): RuntimeFailure | undefined {
  if (Number.isFinite(versionNum) && versionNum >= MIN_SERVER_VERSION_NUM) return undefined;
  return new RuntimeFailure(`PostgreSQL ${display} is not supported: phasectl needs PostgreSQL 14 or later`, {
    hint: 'upgrade the server to PostgreSQL 14+ (see docs/supported-postgres.md); nothing was changed',
  });
}
