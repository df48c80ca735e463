import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import type { MoveChange, RenameChange } from '../spec/types.js';

/**
 * The three-release plan of a rename, for people: per phase what the database will run and what
 * the application code must do in that release (pure).
 */
export function describeRenamePlan(change: RenameChange): string {
  const { schema, table, from, to } = change.rename;
  const tableName = displayColumn(schema, table);
  const oldName = displayIdentifier(from);
  const newName = displayIdentifier(to);
  const type = change.rename.type ?? change.column.type;
  const copies = [
    ...change.column.indexes.map((index) => `index ${displayIdentifier(index.name)}`),
    ...change.column.constraints
      .filter((constraint) => !change.column.indexes.some((index) => index.constraint === constraint.name))
      .map((constraint) => `${constraint.kind.replace('_', ' ')} ${displayIdentifier(constraint.name)}`),
  ];
  const lines = [
    `Change ${change.id}: ${tableName}.${oldName} → ${newName}${change.rename.type ? ` (type ${change.column.type} → ${change.rename.type})` : ''}`,
    `Ships in three releases; run \`phasectl advance --release <name>\` once per release to write each phase.`,
    '',
    'Release 1 — phase 1, expand',
    `  database: add column ${newName} ${type}${change.column.collation ? ` COLLATE ${change.column.collation}` : ''} (nullable, no default yet), install the sync trigger (old column wins),`,
    `            backfill ${newName} from ${oldName} in batches${copies.length ? `, then rebuild ${copies.join(', ')} on ${newName}` : ''}${change.column.nullable ? '' : `, add NOT NULL as a validated check`}.`,
    `  code:     keep reading and writing ${oldName}; ${newName} is being filled and kept in sync, do not use it yet.`,
    '',
    'Release 2 — phase 2, switch',
    `  database: check the backfill finished and no row differs, then switch the sync trigger so ${newName} wins.`,
    `  code:     read and write ${newName}. Instances still on release 1 keep working: the trigger copies between both columns.`,
    '',
    'Release 3 — phase 3, contract',
    `  database: drop the sync trigger and function${change.column.nullable ? '' : `, SET NOT NULL on ${newName}`}${change.column.default ? `, move the default to ${newName}` : ''}, drop ${oldName}.`,
    `  code:     before this release, remove every reference to ${oldName} from the code (\`phasectl check\` lists them); the column is dropped.`,
    ...dependentsLines(change.dependents, newName),
  ];
  return lines.join('\n');
}

/** The three-release plan of a move, for people (pure). */
export function describeMovePlan(change: MoveChange): string {
  const { from, to, on } = change.move;
  const source = displayColumn(from.schema, from.table, from.column);
  const target = displayColumn(to.schema, to.table, to.column);
  const join = on
    .map(
      (pair) =>
        `${displayIdentifier(to.table)}.${displayIdentifier(pair.to)} = ${displayIdentifier(from.table)}.${displayIdentifier(pair.from)}`,
    )
    .join(' AND ');
  const copies = [
    ...change.column.indexes.map((index) => `index ${displayIdentifier(index.name)}`),
    ...change.column.constraints
      .filter((constraint) => !change.column.indexes.some((index) => index.constraint === constraint.name))
      .map((constraint) => `${constraint.kind.replace('_', ' ')} ${displayIdentifier(constraint.name)}`),
  ];
  return [
    `Change ${change.id}: move ${source} → ${target} (joined on ${join})`,
    'Ships in three releases; run `phasectl advance --release <name>` once per release to write each phase.',
    '',
    'Release 1 — phase 1, expand',
    `  database: ${change.target.existingColumn ? `use the existing ${target}` : `add column ${target} ${change.column.type} (nullable, no default)`}, install sync triggers on both tables (${displayIdentifier(from.table)} wins),`,
    `            backfill ${target} from ${source} in batches${copies.length ? `, then rebuild ${copies.join(', ')} on ${target}` : ''}.`,
    `            A ${displayIdentifier(from.table)} row without a ${displayIdentifier(to.table)} row keeps its value; the ${displayIdentifier(to.table)} row gets it when it is inserted.`,
    `  code:     keep reading and writing ${source}; ${target} is being filled and kept in sync, do not use it yet.`,
    '',
    'Release 2 — phase 2, switch',
    `  database: check the backfill finished and no pair of rows differs, then switch the triggers so ${target} wins.`,
    `  code:     read and write ${target}. Instances still on release 1 keep working: the triggers copy between both tables.`,
    '',
    'Release 3 — phase 3, contract',
    `  database: refuse if a ${displayIdentifier(from.table)} row still holds a value without a ${displayIdentifier(to.table)} row; drop the triggers and functions${change.column.default ? `, move the default to ${target}` : ''}, drop ${source}.`,
    `  code:     before this release, remove every reference to ${source} from the code (\`phasectl check\` lists them); the column is dropped.`,
  ].join('\n');
}

/** What phase 3 re-points besides the column (views, virtual generated columns), one line when there is any. */
function dependentsLines(dependents: RenameChange['dependents'], newName: string): string[] {
  const users = [
    ...(dependents?.views ?? []).map((view) => `view ${view.schema}.${view.name}`),
    ...(dependents?.generated ?? []).map((generated) => `generated column ${generated.name}`),
  ];
  if (users.length === 0) return [];
  return [
    `  also:     phase 3 re-points ${users.join(', ')} at ${newName} (same output columns); it refuses if one changes after this plan (\`phasectl plan refresh\` records it again).`,
  ];
}
