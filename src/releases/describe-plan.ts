import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import type { RenameChange } from '../spec/types.js';

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
    ...change.column.constraints.filter((constraint) => !change.column.indexes.some((index) => index.constraint === constraint.name)).map((constraint) => `${constraint.kind.replace('_', ' ')} ${displayIdentifier(constraint.name)}`),
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
  ];
  return lines.join('\n');
}
