import { mkdir, stat } from 'node:fs/promises';
import { makeFolder } from '../files/no-follow.js';
import { relative } from 'node:path';
import { projectPaths } from '../project.js';
import { DEFAULT_IGNORE_GLOBS, DEFAULT_SOURCE_GLOBS } from '../spec/schema.js';
import { writeFileAtomic } from '../spec/save.js';

/** The phases.yaml `init` writes: valid as is, with a commented example of a change. */
export function initialPhasesText(): string {
  const globs = (list: string[]) => `[${list.map((glob) => JSON.stringify(glob)).join(', ')}]`;
  return `# phases.yaml — column changes that ship in three phases, one release each.
# Declare a change with \`phasectl plan rename <table>.<column> <new_name>\`; every release,
# \`phasectl advance --release <name>\` moves each change one phase and writes db/migrations.
version: 1

# Where \`phasectl check\` looks for code that still names a column before it is dropped.
check:
  sourceGlobs: ${globs(DEFAULT_SOURCE_GLOBS)}
  ignoreGlobs: ${globs(DEFAULT_IGNORE_GLOBS)}

# Written by \`phasectl plan\` and \`phasectl advance\`; an entry looks like:
#
#  - id: users-job-title-to-favourite-color
#    rename: { schema: public, table: users, from: job_title, to: favourite_color }
#    column: { type: text, nullable: false, default: "'unknown'::text", indexes: [], constraints: [] }
#    key: { columns: [id], types: [bigint] }
#    releases: { phase1: 1.4.0, phase2: 1.5.0 }   # written by \`advance\`, never by hand
changes: []
`;
}

/** Options of {@link init}. */
export interface InitOptions {
  /** Project root to create phases.yaml and db/ in (default: the current directory). */
  projectDir?: string;
}

export interface InitResult {
  created: string[];
  existing: string[];
}

/**
 * Creates phases.yaml and db/{migrations,functions,triggers} when missing; never overwrites.
 *
 * @example
 * ```ts
 * import { init } from 'phasectl';
 *
 * const { created } = await init({ projectDir: 'services/billing' });
 * // created: ['phases.yaml', 'db/migrations/', 'db/functions/', 'db/triggers/']
 * ```
 */
export async function init(options: InitOptions = {}): Promise<InitResult> {
  const paths = projectPaths(options.projectDir);
  // `init --project services/billing` may name a folder that does not exist yet.
  await mkdir(paths.root, { recursive: true });
  const result: InitResult = { created: [], existing: [] };
  const name = (path: string) => relative(paths.root, path) || '.';
  if (await exists(paths.phasesFile)) result.existing.push(name(paths.phasesFile));
  else {
    await writeFileAtomic(paths.phasesFile, initialPhasesText());
    result.created.push(name(paths.phasesFile));
  }
  for (const folder of [paths.migrationsDir, paths.functionsDir, paths.triggersDir]) {
    if (await exists(folder)) result.existing.push(`${name(folder)}/`);
    else {
      await makeFolder(paths.root, relative(paths.root, folder));
      result.created.push(`${name(folder)}/`);
    }
  }
  return result;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
