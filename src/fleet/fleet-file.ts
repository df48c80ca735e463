import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { isMap, isNode, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { InputError, type SourceLocation } from '../errors.js';
import { closestName } from '../spec/closest-name.js';
import { parsePhasesDocument, formatPath, type DocumentPath } from '../spec/load.js';
import { expandVariables, passwordWrittenIn } from './variables.js';

/**
 * fleet.yaml: every database that runs this application (docs/fleets.md).
 *
 *   concurrency: 4
 *   targets:
 *     - name: main
 *       url: ${MAIN_DATABASE_URL}
 *     - discover: ${TENANT_SERVER_URL}
 *       databases: tenant_*
 */
export const MAX_FLEET_CONCURRENCY = 64;

const urlText = z.string().min(1);
const nameText = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$/, {
  message:
    'must be letters, digits, "_", ".", ":", "/" or "-" (at most 100 characters, starting with a letter or digit)',
});

const topSchema = z
  .object({
    concurrency: z.number().int().min(1).max(MAX_FLEET_CONCURRENCY).optional(),
    targets: z.array(z.record(z.string(), z.unknown())).min(1, { message: 'must list at least one target' }),
  })
  .strict();

const namedSchema = z.object({ name: nameText, url: urlText }).strict();
const discoverSchema = z
  .object({
    discover: urlText,
    databases: z.string().min(1),
    /** Put before each discovered database name (shards whose databases have the same names). */
    prefix: z
      .string()
      .regex(/^[A-Za-z0-9_.:/-]{1,50}$/)
      .optional(),
  })
  .strict();

const KNOWN_KEYS: Record<string, string[]> = {
  top: ['concurrency', 'targets'],
  named: ['name', 'url'],
  discover: ['discover', 'databases', 'prefix'],
};

/** A target written with its URL (environment variables expanded). */
export interface NamedEntry {
  kind: 'named';
  name: string;
  url: string;
  location: SourceLocation;
}

/** Every database on a server whose name matches `pattern` (`*` any characters, `?` one). */
export interface DiscoverEntry {
  kind: 'discover';
  serverUrl: string;
  pattern: string;
  prefix: string;
  location: SourceLocation;
}

export type FleetEntry = NamedEntry | DiscoverEntry;

export interface FleetFile {
  file: string;
  concurrency?: number;
  entries: FleetEntry[];
}

/** Reads and validates a fleet file; a missing one says how to write it. */
export async function loadFleetFile(file: string, env: NodeJS.ProcessEnv = process.env): Promise<FleetFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`no fleet file ${file}`, {
        hint: 'write one (docs/fleets.md) or pass --fleet <file>',
        location: { file },
      });
    }
    throw error;
  }
  return parseFleetText(text, file, env);
}

/**
 * Parses fleet.yaml text (pure but for `env`): every problem is an InputError at file:line:column. Refused: unknown
 * keys, an unset environment variable, a password written in the file, two targets with one name.
 */
export function parseFleetText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): FleetFile {
  if (text.length > 1024 * 1024)
    throw new InputError(`${basename(file)} is larger than 1 MB`, {
      location: { file },
      hint: 'a fleet file lists targets and discovery patterns; is this really one?',
    });
  const { document, locate, locateOffset } = parsePhasesDocument(text);
  const at = (path: DocumentPath): SourceLocation => ({ file, ...locate(path) });
  const syntaxError = document.errors[0];
  if (syntaxError) {
    throw new InputError(
      `${basename(file)} is not valid YAML: ${syntaxError.message.replace(/ at line \d+, column \d+.*$/s, '')}`,
      {
        hint: 'fix the YAML syntax at this position',
        location: { file, ...locateOffset(syntaxError.pos[0]) },
      },
    );
  }
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: 100 }) ?? {};
  } catch {
    throw new InputError(`${basename(file)} uses an alias that cannot be resolved`, {
      hint: 'write the values out in full',
      location: { file, line: 1, column: 1 },
    });
  }
  const top = topSchema.safeParse(raw);
  if (!top.success) throw issueError(top.error.issues[0]!, [], 'top', document, file, at, locateOffset);
  const entries: FleetEntry[] = [];
  top.data.targets.forEach((item, index) => {
    const base: DocumentPath = ['targets', index];
    const isDiscover = 'discover' in item;
    const parsed = (isDiscover ? discoverSchema : namedSchema).safeParse(item);
    if (!parsed.success)
      throw issueError(
        parsed.error.issues[0]!,
        base,
        isDiscover ? 'discover' : 'named',
        document,
        file,
        at,
        locateOffset,
      );
    if ('discover' in parsed.data) {
      const data = parsed.data;
      entries.push({
        kind: 'discover',
        serverUrl: urlValue(data.discover, [...base, 'discover'], env, at),
        pattern: data.databases,
        prefix: data.prefix ?? '',
        location: at(base),
      });
    } else {
      const data = parsed.data;
      entries.push({
        kind: 'named',
        name: data.name,
        url: urlValue(data.url, [...base, 'url'], env, at),
        location: at(base),
      });
    }
  });
  const seen = new Map<string, SourceLocation>();
  for (const entry of entries) {
    if (entry.kind !== 'named') continue;
    const first = seen.get(entry.name);
    if (first) {
      throw new InputError(`two targets are named "${entry.name}" (the first at line ${first.line})`, {
        hint: 'give every target its own name: the summary, status and the fleet-wide guard name targets by it',
        location: entry.location,
      });
    }
    seen.set(entry.name, entry.location);
  }
  return { file, concurrency: top.data.concurrency, entries };
}

/** The URL with its ${VARIABLES} expanded; a password written in the file is refused before anything is expanded. */
function urlValue(
  raw: string,
  path: DocumentPath,
  env: NodeJS.ProcessEnv,
  at: (path: DocumentPath) => SourceLocation,
): string {
  const location = at(path);
  if (passwordWrittenIn(raw)) {
    throw new InputError(`${formatPath(path)} has a password written in the file`, {
      hint: `put the whole URL in an environment variable (url: \${MAIN_DATABASE_URL}), or the password in one (postgres://app:\${APP_PASSWORD}@host/db), in ~/.pgpass or PGPASSWORD; the fleet file is committed, passwords are not`,
      location,
    });
  }
  return expandVariables(
    raw,
    env,
    (message, hint) => new InputError(`${formatPath(path)}: ${message}`, { hint, location }),
  );
}

function issueError(
  issue: z.core.$ZodIssue,
  base: DocumentPath,
  kind: string,
  document: Document,
  file: string,
  at: (path: DocumentPath) => SourceLocation,
  locateOffset: (offset: number) => { line: number; column: number },
): InputError {
  const path = [...base, ...(issue.path as DocumentPath)];
  const where = formatPath(path) || 'the top level';
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const known = KNOWN_KEYS[kind]!;
    const suggestion = closestName(key, known);
    return new InputError(`unknown key "${key}" in ${where}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`, {
      hint: suggestion
        ? `rename it to "${suggestion}"`
        : `remove it; ${where} accepts: ${known.join(', ')}${kind === 'named' ? ' (or discover, databases, prefix for a discovered server)' : ''}`,
      location: keyLocation(document, path, key, file, locateOffset) ?? at(path),
    });
  }
  const value = valueAt(document, path);
  if (issue.code === 'invalid_type' && value === undefined) {
    const parent = formatPath(path.slice(0, -1)) || 'the top level';
    const missing = String(path.at(-1));
    return new InputError(`missing key "${missing}" in ${parent}`, {
      hint:
        kind === 'named'
          ? 'a target is either `name:` + `url:` or `discover:` + `databases:`'
          : `add \`${missing}: …\``,
      location: at(path),
    });
  }
  return new InputError(
    `${where} ${issue.message.replace(/^Invalid input: /, '')}${value === undefined ? '' : ` (found ${JSON.stringify(value)})`}`,
    {
      hint: hintFor(String(path.at(-1))),
      location: at(path),
    },
  );
}

function hintFor(key: string): string {
  switch (key) {
    case 'concurrency':
      return `a whole number from 1 to ${MAX_FLEET_CONCURRENCY}: how many databases are migrated at a time`;
    case 'targets':
      return 'a list of targets: `- name: main` + `url: ${MAIN_DATABASE_URL}`, or `- discover: ${SERVER_URL}` + `databases: tenant_*`';
    default:
      return 'see the fleet file format in docs/fleets.md';
  }
}

function valueAt(document: Document, path: DocumentPath): unknown {
  const node = path.length === 0 ? document.contents : document.getIn(path, true);
  return isNode(node) ? (node as Node).toJSON() : node;
}

function keyLocation(
  document: Document,
  path: DocumentPath,
  key: string,
  file: string,
  locateOffset: (offset: number) => { line: number; column: number },
): SourceLocation | undefined {
  const holder = path.length === 0 ? document.contents : document.getIn(path, true);
  if (!isMap(holder)) return undefined;
  const pair = holder.items.find((item) => isNode(item.key) && (item.key as { value?: unknown }).value === key);
  const range = isNode(pair?.key) ? pair.key.range : undefined;
  return range ? { file, ...locateOffset(range[0]) } : undefined;
}
