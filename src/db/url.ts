import { InputError } from '../errors.js';

/** Query parameters of a connection URL that hold a secret (libpq and pg read the password from `?password=` too). */
const SECRET_PARAMETERS = ['password', 'sslpassword'];

/** Returns the URL with its password (in the user part or a query parameter) replaced by `***`, safe to print or log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    // A `#` ends the authority: `postgres://u:ab#cd@host` parses as host `u`, and the password's tail as a fragment.
    if (parsed.hash !== '') return redactUnparsed(url);
    if (parsed.password) parsed.password = '***';
    for (const name of [...parsed.searchParams.keys()]) {
      if (SECRET_PARAMETERS.includes(name.toLowerCase())) parsed.searchParams.set(name, '***');
    }
    return parsed.toString();
  } catch {
    return redactUnparsed(url);
  }
}

/**
 * A URL that does not parse (a password with an unencoded `/`, `?` or `#`, or a key=value conninfo string): everything
 * between the user's `:` and the last `@` is hidden, and anything that looks like a password parameter.
 */
function redactUnparsed(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:)[^]*@/i, '$1***@').replace(/(password\s*=\s*)(\S+)/gi, '$1***');
}

/** Same URL pointing at another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(database)}`;
  return parsed.toString();
}

/** host:port/database of a URL, for messages. */
export function describeTarget(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}/${decodeURIComponent(parsed.pathname.slice(1)) || '(default)'}`;
  } catch {
    return '(unparseable database URL)';
  }
}

/**
 * The database URL, checked before any connection is tried: missing, or not a PostgreSQL URL (`notaurl` would
 * otherwise become a DNS lookup of a host called "base" and an exit 3), is bad input.
 */
export function checkDatabaseUrl(url: string | undefined): string {
  if (url === undefined || url.trim() === '') {
    throw new InputError('no database given', { hint: 'pass --database-url postgres://user@host:5432/db or set DATABASE_URL (library: the databaseUrl option)' });
  }
  // pg also takes a socket directory path (`/var/run/postgresql`) and `socket:` URLs.
  if (url.startsWith('/')) return url;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw notPostgresUrl(url);
  }
  if (!['postgres:', 'postgresql:', 'socket:'].includes(protocol)) throw notPostgresUrl(url);
  // A PostgreSQL URL has no fragment: a `#` is an unencoded character of the password, and what follows it would be
  // taken for the host (`postgres://u:1234#x@db/app` connects to host `u`, port 1234).
  if (url.includes('#')) throw notPostgresUrl(url);
  return url;
}

function notPostgresUrl(url: string): InputError {
  const shown = redactUrl(url);
  return new InputError(`the database URL "${shown.length > 80 ? `${shown.slice(0, 80)}…` : shown}" is not a PostgreSQL URL`, {
    hint: 'write it as postgres://user:password@host:5432/database (percent-encode special characters in the password)',
  });
}
