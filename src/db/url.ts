/** Returns the URL with its password replaced by `***`, safe to print or log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    // Not a URL (maybe a key=value conninfo string): hide anything that looks like a password.
    return url.replace(/(password\s*=\s*)(\S+)/gi, '$1***');
  }
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
