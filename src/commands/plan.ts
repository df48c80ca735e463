import { connect, type Connection } from '../db/connect.js';
import { readRenameFacts } from '../catalog/column-facts.js';
import { checkRoundTrip } from '../catalog/round-trip.js';
import { requireConversions } from '../catalog/type-casts.js';
import { refuseUntrustedConversion } from '../catalog/conversion-trust.js';
import { refuseUntrustedCode } from '../catalog/table-trust.js';
import { refuseConstrainedDomainColumn } from '../catalog/domain-constraints.js';
import { InputError } from '../errors.js';
import { projectGenerationSettings } from '../generate/project-settings.js';
import { projectPaths } from '../project.js';
import { describeRenamePlan } from '../releases/describe-plan.js';
import { defaultChangeId, parseColumnTarget } from '../spec/column-target.js';
import { planBaseFor, refuseColumnInFlight, savePlannedChange } from './plan-replace.js';
import { displayColumn, displayIdentifier, MAX_IDENTIFIER_BYTES, utf8Length } from '../spec/identifiers.js';
import { loadPhasesFile } from '../spec/load.js';
import type { ColumnFacts, DependentFacts, KeyFacts, RenameChange } from '../spec/types.js';
import { readRenameDependents } from '../catalog/dependents-record.js';
import { refuseSharedCopies, refuseSharedDependents } from '../dependents/shared-records.js';
import { chooseSyncTriggerName } from '../catalog/sync-trigger-name.js';
import { deferrableUniqueNotes } from '../operations/deferrable-unique-note.js';

export interface PlanRenameOptions {
  /** Project root holding phases.yaml (default: the current directory). */
  projectDir?: string;
  /** `[schema.]table.column`, parts optionally double-quoted. */
  target: string;
  newName: string;
  id?: string;
  /** Offline: the column's type. With a database: a new type (a type change) when it differs. */
  type?: string;
  up?: string;
  down?: string;
  /** Accept a conversion whose `down` does not give every existing value back (recorded in phases.yaml). */
  lossy?: boolean;
  /** Offline only: the table key as `col:type,col:type`. */
  key?: string;
  /** Read the facts from this database; without it, plan offline from the flags. */
  databaseUrl?: string;
  /** Correct a change not yet advanced (same id, or the same column) instead of refusing it as a duplicate. */
  replace?: boolean;
}

export interface PlanRenameResult {
  change: RenameChange;
  file: string;
  /** The three-release plan, for people. */
  plan: string;
  /** Things to do before a later phase (e.g. a user trigger function that names the column), one line each. */
  notes: string[];
}

/**
 * Declares a rename: reads the column's facts (from the database, or from the flags offline),
 * appends the change to phases.yaml keeping its comments, and returns the three-release plan.
 * Bad input throws before anything is written; the database is only read.
 *
 * @example
 * ```ts
 * import { planRename } from 'phasectl';
 *
 * const { change, plan } = await planRename({
 *   projectDir: '.',
 *   target: 'users.job_title',
 *   newName: 'favourite_color',
 *   databaseUrl: process.env.DATABASE_URL,
 * });
 * console.log(plan); // the three releases: expand, switch, contract
 * ```
 */
export async function planRename(options: PlanRenameOptions): Promise<PlanRenameResult> {
  const paths = projectPaths(options.projectDir);
  const loaded = await loadPhasesFile(paths.phasesFile);
  // The project's templates and timeouts are checked now, not first at `advance` (nothing is rendered here).
  projectGenerationSettings(loaded, paths.root);
  const target = parseColumnTarget(options.target);
  const newName = options.newName;
  if (newName === '')
    throw new InputError('the new column name is empty', { hint: 'give the new name, e.g. favourite_color' });
  if (utf8Length(newName) > MAX_IDENTIFIER_BYTES) {
    throw new InputError(
      `new column name ${displayIdentifier(newName)} is ${utf8Length(newName)} bytes; PostgreSQL keeps at most ${MAX_IDENTIFIER_BYTES}`,
      {
        hint: 'choose a shorter name',
      },
    );
  }
  if (newName === target.column)
    throw new InputError(`the new name is the same as the column's, ${displayIdentifier(newName)}`, {
      hint: 'give a different new name',
    });
  const id = options.id ?? defaultChangeId(target.table, target.column, newName);
  const base = planBaseFor(loaded, { replace: options.replace, id, source: target });
  refuseColumnInFlight(
    base,
    (column) =>
      column.schema === target.schema &&
      column.table === target.table &&
      (column.column === target.column || column.column === newName),
    'finish that change (advance it to phase 3, then `phasectl archive` it) before planning another on the same column; to correct it while it is not advanced, plan again with --replace',
  );
  if (options.up !== undefined && options.down === undefined) {
    throw new InputError(
      '--up needs --down: the reverse conversion, which phase 2 and a rollback of phase 3 write into the old column',
      {
        hint: 'give both, e.g. --up "round(amount * 100)::bigint" --down "amount_cents / 100.0" (without --down the reverse would be a plain cast, wrong for any custom --up)',
      },
    );
  }
  const connection = options.databaseUrl
    ? await connect(options.databaseUrl, { max: 1, applicationName: 'phasectl plan' })
    : undefined;
  try {
    const { column, key, type, notes, dependents, partitioned } = connection
      ? await factsFromDatabase(connection, target, newName, options.type, options)
      : {
          ...factsFromFlags(options),
          notes: [],
          dependents: { foreignKeys: [], functions: [], triggers: [] },
          partitioned: undefined,
        };
    const syncTrigger = connection ? await chooseSyncTriggerName(connection.db, target, id) : undefined;
    const change: RenameChange = {
      kind: 'rename',
      id,
      rename: {
        schema: target.schema,
        table: target.table,
        from: target.column,
        to: newName,
        ...(type === undefined ? {} : { type }),
        ...(options.up === undefined ? {} : { up: options.up }),
        ...(options.down === undefined ? {} : { down: options.down }),
        ...(options.lossy ? { lossy: true as const } : {}),
        ...(syncTrigger === undefined ? {} : { syncTrigger }),
        ...(partitioned ? { partitioned } : {}),
      },
      column,
      key,
      dependents,
      releases: {},
    };
    refuseSharedDependents(change, base.checked.spec.changes);
    refuseSharedCopies(change, base.checked.spec.changes);
    if (syncTrigger !== undefined)
      notes.push(
        `note: a BEFORE trigger of ${target.schema}.${target.table} sorts after phasectl's default sync trigger name: the sync triggers are named ${syncTrigger} (recorded in phases.yaml) so they fire last; phase 1 checks that again`,
      );
    notes.push(...deferrableUniqueNotes(column, target.column, newName));
    const converts =
      change.rename.up !== undefined ||
      change.rename.down !== undefined ||
      (change.rename.type !== undefined && change.rename.type !== column.type);
    // What the conversion calls is checked before the round trip runs it on every row.
    if (converts && connection) await refuseUntrustedConversion(connection.pool, change);
    if (converts) notes.push(...(connection ? await roundTripNotes(connection, change) : [offlineConversionNote]));
    await savePlannedChange(loaded, base, change, options.databaseUrl);
    return { change, file: paths.phasesFile, plan: describeRenamePlan(change), notes };
  } finally {
    await connection?.close();
  }
}

const offlineConversionNote =
  'NOT CHECKED: plan ran offline, so it could not check that up converts every existing row and that down(up(x)) gives each value back; ' +
  'run the plan with --database-url (or DATABASE_URL) before advancing';

/**
 * Checks the conversion on every existing row (read-only, src/catalog/round-trip.ts): a failing up or down
 * is refused, a lossy round trip too unless `--lossy` (then loudly noted).
 */
async function roundTripNotes(connection: Connection, change: RenameChange): Promise<string[]> {
  const report = await checkRoundTrip(connection.pool, change);
  const { from, to } = change.rename;
  if (!report.lossy)
    return [`checked: up converts all ${report.rows} existing row(s) and down(up(${from})) gives each value back`];
  const row = report.lossy;
  const shown = (value: string | null) => value ?? 'NULL';
  const detail = `row ${row.key}: ${from} = ${shown(row.value)}, up gives ${to} = ${shown(row.converted)}, down gives back ${shown(row.back)}`;
  if (!change.rename.lossy) {
    throw new InputError(`down(up(${from})) does not give the value back on the ${detail}`, {
      hint:
        `old application instances (phase 2) and a rollback of phase 3 would see the converted value: give a --down that inverts --up exactly, ` +
        'or accept the loss with --lossy (recorded in phases.yaml); nothing was written',
    });
  }
  return [
    `WARNING (--lossy): down(up(${from})) does not give every value back, first on the ${detail}. Old instances in phase 2 and a rollback of phase 3 see such rows converted.`,
  ];
}

async function factsFromDatabase(
  connection: Connection,
  target: { schema: string; table: string; column: string },
  newName: string,
  type: string | undefined,
  expressions: { up?: string; down?: string },
): Promise<{
  column: ColumnFacts;
  key: KeyFacts;
  type?: string;
  notes: string[];
  dependents: DependentFacts;
  partitioned?: true;
}> {
  const { column, key, foreignKeys, views, generated, partitioned } = await readRenameFacts(
    connection.db,
    target,
    newName,
  );
  const changesType = type !== undefined && type !== column.type;
  if (changesType) {
    // Without --up/--down the generated SQL casts; refuse now if PostgreSQL has no assignment cast to do it.
    await requireConversions(
      connection.db,
      displayColumn(target.schema, target.table, target.column),
      column.type,
      type,
      expressions,
    );
    // The backfill converts every value to the new type: its domains' checks run as the migrator.
    await refuseUntrustedCode(connection.db, target, displayColumn(target.schema, target.table), { types: [type] });
  }
  // The new column is added with this type: a domain with constraints would make that a table rewrite.
  await refuseConstrainedDomainColumn(
    connection.db,
    type ?? column.type,
    displayColumn(target.schema, target.table, target.column),
    newName,
    'rename',
  );
  const { dependents, notes } = await readRenameDependents(connection.db, target, newName, {
    foreignKeys,
    views,
    generated,
  });
  return { column, key, ...(changesType ? { type } : {}), notes, dependents, ...(partitioned ? { partitioned } : {}) };
}

/** Offline facts: the type and key from flags, nothing else known (nullable, no indexes or constraints). */
function factsFromFlags(options: PlanRenameOptions): { column: ColumnFacts; key: KeyFacts; type?: string } {
  if (!options.type || !options.key) {
    throw new InputError(
      `without a database, plan needs ${[!options.type && '--type', !options.key && '--key'].filter(Boolean).join(' and ')}`,
      {
        hint: 'pass --database-url (or set DATABASE_URL) so plan reads the column, or give --type <sql type> --key <column:type,…>',
      },
    );
  }
  const key: KeyFacts = { columns: [], types: [] };
  for (const part of options.key.split(',')) {
    const separator = part.indexOf(':');
    const name = part.slice(0, separator).trim();
    const type = part.slice(separator + 1).trim();
    if (separator < 0 || !name || !type) {
      throw new InputError(`--key "${options.key}" is not a list of column:type`, {
        hint: 'write e.g. --key id:bigint or --key tenant_id:integer,id:bigint',
      });
    }
    key.columns.push(name);
    key.types.push(type);
  }
  return { column: { type: options.type, nullable: true, indexes: [], constraints: [] }, key };
}
