/** Helpers to recognise and describe errors raised by PostgreSQL (pg's DatabaseError). */

export interface PgErrorFields {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
}

export function pgError(error: unknown): PgErrorFields | undefined {
  if (!(error instanceof Error)) return undefined;
  return error as Error & PgErrorFields;
}

/** SQLSTATE 55P03: lock_timeout expired (or NOWAIT). The one failure worth retrying. */
export function isLockTimeout(error: unknown): boolean {
  return pgError(error)?.code === '55P03';
}

/**
 * A conflict PostgreSQL resolved by aborting us: deadlock (40P01) or serialization failure (40001).
 * Nothing was written; the same batch can simply run again.
 */
export function isTransientConflict(error: unknown): boolean {
  const code = pgError(error)?.code;
  return code === '40P01' || code === '40001';
}

/** The connection went away (server shutdown, pg_terminate_backend, network). */
export function isConnectionLost(error: unknown): boolean {
  const fields = pgError(error);
  if (!fields) return false;
  if (fields.code && /^(57P0[123]|08)/.test(fields.code)) return true;
  return /Connection terminated|connection.*(closed|ended|reset)|ECONNRESET|EPIPE|not queryable/i.test(fields.message);
}

/** PostgreSQL's message plus its detail and hint, on one line each. */
export function describePgError(error: unknown): string {
  const fields = pgError(error);
  if (!fields) return String(error);
  const parts = [`${fields.message}${fields.code ? ` (SQLSTATE ${fields.code})` : ''}`];
  if (fields.detail) parts.push(`detail: ${fields.detail}`);
  if (fields.hint) parts.push(`hint: ${fields.hint}`);
  const note = searchPathNote(fields.code);
  if (note) parts.push(note);
  return parts.join('\n  ');
}

/**
 * For "function/operator/type/relation does not exist": phasectl's sessions and files resolve unqualified names
 * in pg_catalog only (docs/privileges.md), so a name that worked in the application's session may be missing here.
 */
export function searchPathNote(code: string | undefined): string | undefined {
  if (code !== '42883' && code !== '42704' && code !== '42P01') return undefined;
  return (
    'note: phasectl runs with search_path = pg_catalog, pg_temp: schema-qualify your own functions, operators, types and tables ' +
    '(e.g. public.my_function(x)) in --up/--down and --type, or give the functions that fire on this table their own search_path ' +
    '(ALTER FUNCTION … SET search_path = …)'
  );
}

/** A short, single-line excerpt of a statement for error messages. */
export function excerpt(sql: string, max = 160): string {
  const oneLine = sql
    .split('\n')
    .filter((line) => !/^\s*--/.test(line))
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}
