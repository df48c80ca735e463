/**
 * `--lock-timeout` support, kept simple: the override replaces the value of every
 * `SET [LOCAL] lock_timeout = …` the file itself contains (generated files set it at the top), and is
 * the session default before a file that sets none. The file on disk and its checksum are untouched.
 */

/** Default lock_timeout for files that do not set one, and for backfill batches. */
export const DEFAULT_LOCK_TIMEOUT_MS = 2000;

const setLockTimeout = /\bSET(\s+LOCAL|\s+SESSION)?\s+lock_timeout\s*(?:=|\bTO\b)\s*(?:'[^']*'|\d+|DEFAULT)/gi;

/** The SQL with each `SET [LOCAL] lock_timeout` value replaced by `ms` milliseconds. Pure. */
export function overrideLockTimeout(sql: string, ms: number): string {
  return sql.replace(setLockTimeout, (_match, scope: string | undefined) => `SET${scope ?? ''} lock_timeout = '${Math.round(ms)}ms'`);
}
