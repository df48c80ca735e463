import { connect } from '../db/connect.js';
import { readMoveFacts } from '../catalog/move-facts.js';
import { InputError } from '../errors.js';
import { projectGenerationSettings } from '../generate/project-settings.js';
import { projectPaths } from '../project.js';
import { deferrableUniqueNotes } from '../operations/deferrable-unique-note.js';
import { describeMovePlan } from '../releases/describe-plan.js';
import { parseColumnTarget } from '../spec/column-target.js';
import { planBaseFor, refuseColumnInFlight, savePlannedChange } from './plan-replace.js';
import { loadPhasesFile } from '../spec/load.js';
import type { JoinPair, MoveChange } from '../spec/types.js';
import { refuseTriggersNamingMovedColumn } from '../catalog/dependent-triggers.js';
import { readMoveDependents } from '../catalog/dependents-record.js';

export interface PlanMoveOptions {
  /** Project root holding phases.yaml (default: the current directory). */
  projectDir?: string;
  /** `[schema.]table.column` of the column to move. */
  from: string;
  /** `[schema.]table.column` it moves to (created by phase 1 when missing). */
  to: string;
  /** `source_col=target_col[,…]`: how a target row pairs with its source row. */
  on: string;
  id?: string;
  /** The facts are read from this database (a move needs them: the join must be proven 1:1). */
  databaseUrl?: string;
  /** Correct a change not yet advanced (same id, or the same column) instead of refusing it as a duplicate. */
  replace?: boolean;
}

export interface PlanMoveResult {
  change: MoveChange;
  file: string;
  plan: string;
  /** Things to do before a later phase (e.g. a user trigger function that names the column), one line each. */
  notes: string[];
}

/**
 * `id=user_id,tenant_id=tenant_id` → join pairs. A name may be double-quoted, as in the column arguments
 * (`id="User Id"`, `"a,b"="x=y"`): its `,` and `=` are then part of it and `""` is a quote. Pure.
 */
export function parseJoinPairs(text: string): JoinPair[] {
  const bad = (part: string) =>
    new InputError(`--on "${text}": "${part}" is not <source column>=<target column>`, {
      hint: 'write e.g. --on id=user_id or --on tenant_id=tenant_id,id=user_id; quote a name holding , = or spaces: --on \'id="User Id"\'',
    });
  // Split on , and = outside double quotes, keeping each name's text as written.
  const pairs: string[][] = [];
  let names: string[] = [];
  let name = '';
  let quoted = false;
  for (const character of text) {
    if (character === '"') quoted = !quoted;
    if (!quoted && (character === ',' || character === '=')) {
      names.push(name);
      name = '';
      if (character === ',') {
        pairs.push(names);
        names = [];
      }
      continue;
    }
    name += character;
  }
  names.push(name);
  pairs.push(names);
  if (quoted) throw bad(text);
  const written = pairs.filter((part) => part.join('=').trim() !== '');
  if (written.length === 0)
    throw new InputError('--on is empty', { hint: 'write --on <source column>=<target column>, e.g. --on id=user_id' });
  return written.map((part) => {
    const [from, to] = part.map(unquoteName);
    if (part.length !== 2 || !from || !to) throw bad(part.join('='));
    return { from, to };
  });
}

/** A name as written in --on: `"User ""Id"""` is `User "Id"`; an unquoted one is taken as it is, trimmed. */
function unquoteName(written: string): string | undefined {
  const name = written.trim();
  if (!name.startsWith('"')) return name.includes('"') ? undefined : name;
  if (name.length < 3 || !name.endsWith('"')) return undefined;
  const inner = name.slice(1, -1);
  return /^(?:[^"]|"")*$/.test(inner) ? inner.replace(/""/g, '"') : undefined;
}

/** The default id of a move: `<source table>-<column>-to-<target table>`, at most 40 characters. */
export function defaultMoveId(fromTable: string, column: string, toTable: string): string {
  const slug = `${fromTable}-${column}-to-${toTable}`
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return slug.slice(0, 40).replace(/-+$/, '') || 'move';
}

/**
 * Declares a move: reads the facts from the database (refusing a join that is not 1:1 or a target column
 * that holds other values), appends the change to phases.yaml and returns the three-release plan.
 *
 * @example
 * ```ts
 * import { planMove } from 'phasectl';
 *
 * await planMove({
 *   from: 'users.address',
 *   to: 'profiles.address',
 *   on: 'id=user_id',
 *   databaseUrl: process.env.DATABASE_URL,
 * });
 * ```
 */
export async function planMove(options: PlanMoveOptions): Promise<PlanMoveResult> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadPhasesFile(paths.phasesFile);
  // The project's templates and timeouts are checked now, not first at `advance` (nothing is rendered here).
  projectGenerationSettings(loaded, paths.root);
  const from = parseColumnTarget(options.from);
  const to = parseColumnTarget(options.to);
  const on = parseJoinPairs(options.on);
  const id = options.id ?? defaultMoveId(from.table, from.column, to.table);
  const base = planBaseFor(loaded, { replace: options.replace, id, source: from });
  refuseColumnInFlight(
    base,
    (column) =>
      [from, to].some(
        (mine) => column.schema === mine.schema && column.table === mine.table && column.column === mine.column,
      ),
    'finish that change (advance it to phase 3, then `phasectl archive` it) before planning another on the same column',
  );
  if (!options.databaseUrl) {
    throw new InputError('plan move needs a database: it reads both tables and proves the join is 1:1', {
      hint: 'pass --database-url (or set DATABASE_URL)',
    });
  }
  const connection = await connect(options.databaseUrl, { max: 1, applicationName: 'phasectl plan' });
  let facts: Awaited<ReturnType<typeof readMoveFacts>>;
  let read: Awaited<ReturnType<typeof readMoveDependents>>;
  try {
    // First: a trigger naming the column would otherwise meet the rename-worded refusal of readMoveFacts.
    await refuseTriggersNamingMovedColumn(connection.db, from, to);
    facts = await readMoveFacts(connection.db, from, to, on);
    read = await readMoveDependents(connection.db, from, to, on);
  } finally {
    await connection.close();
  }
  const change: MoveChange = {
    kind: 'move',
    id,
    move: { from, to, on },
    column: facts.column,
    key: facts.key,
    target: facts.target,
    dependents: read.dependents,
    releases: {},
  };
  await savePlannedChange(loaded, base, change, options.databaseUrl);
  return {
    change,
    file: paths.phasesFile,
    plan: describeMovePlan(change),
    notes: [
      ...read.notes,
      ...deferrableUniqueNotes(facts.column, `${from.table}.${from.column}`, `${to.table}.${to.column}`),
    ],
  };
}
