import { connect } from '../db/connect.js';
import { checkDatabaseUrl, describeTarget, withDatabase } from '../db/url.js';
import { InputError, PhasectlError, RuntimeFailure } from '../errors.js';
import type { FleetEntry, FleetFile } from './fleet-file.js';

/** One database of the fleet. `url` holds the password: print `where` (host:port/database), never the URL. */
export interface FleetTarget {
  name: string;
  url: string;
  where: string;
}

/** A discovery that failed (server unreachable): its databases are unknown, so the fleet is not complete. */
export interface DiscoveryFailure {
  /** `discover host:port (tenant_*)`, the name the summary uses. */
  name: string;
  where: string;
  error: PhasectlError;
}

export interface ResolvedFleet {
  targets: FleetTarget[];
  failures: DiscoveryFailure[];
}

/** `tenant_*` → a test of whole names: `*` any characters, `?` one; everything else literal (`_` too, unlike LIKE). Pure. */
export function namePattern(pattern: string): (name: string) => boolean {
  const source = [...pattern]
    .map((character) =>
      character === '*' ? '.*' : character === '?' ? '.' : character.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  const regex = new RegExp(`^${source}$`, 'su');
  return (name) => regex.test(name);
}

/**
 * The fleet's databases: named targets as written, discovered ones listed from their server (databases that accept
 * connections, templates excluded, in name order). Refused (exit 2, before anything runs): a URL that is not a
 * PostgreSQL URL, two targets with one name, two targets that are one database.
 */
export async function resolveTargets(fleet: FleetFile): Promise<ResolvedFleet> {
  const targets: FleetTarget[] = [];
  const failures: DiscoveryFailure[] = [];
  for (const entry of fleet.entries) {
    checkUrl(entry);
    if (entry.kind === 'named') {
      targets.push({ name: entry.name, url: entry.url, where: describeTarget(entry.url) });
      continue;
    }
    const server = describeTarget(entry.serverUrl).replace(/\/[^/]*$/, '');
    try {
      const matches = namePattern(entry.pattern);
      for (const database of (await listDatabases(entry.serverUrl)).filter(matches)) {
        const url = withDatabase(entry.serverUrl, database);
        targets.push({ name: `${entry.prefix}${database}`, url, where: describeTarget(url) });
      }
    } catch (error) {
      const failure =
        error instanceof PhasectlError
          ? error
          : new RuntimeFailure(String(error instanceof Error ? error.message : error));
      failures.push({ name: `discover ${server} (${entry.pattern})`, where: server, error: failure });
    }
  }
  requireDistinct(targets, fleet.file);
  return { targets, failures };
}

function checkUrl(entry: FleetEntry): void {
  try {
    checkDatabaseUrl(entry.kind === 'named' ? entry.url : entry.serverUrl);
  } catch (error) {
    if (error instanceof PhasectlError)
      throw new InputError(error.message, { hint: error.hint, location: entry.location });
    throw error;
  }
}

async function listDatabases(serverUrl: string): Promise<string[]> {
  const connection = await connect(serverUrl, { max: 1, applicationName: 'phasectl fleet discovery' });
  try {
    const { rows } = await connection.pool.query<{ name: string }>(
      'SELECT datname AS name FROM pg_catalog.pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname COLLATE "C"',
    );
    return rows.map((row) => row.name);
  } finally {
    await connection.close();
  }
}

/** Two targets under one name, or one database listed twice (two runs would fight over its lock). */
function requireDistinct(targets: FleetTarget[], file: string): void {
  const byName = new Map<string, FleetTarget>();
  const byDatabase = new Map<string, FleetTarget>();
  for (const target of targets) {
    const sameName = byName.get(target.name);
    if (sameName) {
      throw new InputError(`two targets are named "${target.name}" (${sameName.where} and ${target.where})`, {
        hint: 'rename the named target, or give the discover entry a `prefix:` (e.g. prefix: shard2-)',
        location: { file },
      });
    }
    // A socket path has no host:port/database to compare: only URLs are checked for being one database.
    const key = target.where.startsWith('(') ? `\u0000${target.name}` : target.where.toLowerCase();
    const sameDatabase = byDatabase.get(key);
    if (sameDatabase) {
      throw new InputError(
        `targets "${sameDatabase.name}" and "${target.name}" are the same database (${target.where})`,
        {
          hint: 'list each database once: narrow the `databases:` pattern or remove the named target',
          location: { file },
        },
      );
    }
    byName.set(target.name, target);
    byDatabase.set(key, target);
  }
}
