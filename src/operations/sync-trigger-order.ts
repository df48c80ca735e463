/**
 * The sync trigger names of a rename and the context of the order guard in templates/rename/trigger.sql.hbs: a change
 * whose `plan` recorded `rename.syncTrigger` (a BEFORE trigger of the table sorted after the default name) re-checks
 * at migrate time that no BEFORE row trigger sorts after it. A change without one generates what it always did. Pure.
 */
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import type { RenameChange } from '../spec/types.js';
import { SYNC_TRIGGER_NAME_PATTERN, syncTriggerNames } from './naming.js';

export function syncTriggerContext(change: RenameChange) {
  const names = syncTriggerNames(change.id, change.rename.syncTrigger);
  return {
    ...names,
    // A partitioned table always checks: a partition's own BEFORE trigger (one created since plan, too) may sort after.
    lateTriggerGuard: change.rename.syncTrigger !== undefined || change.rename.partitioned === true,
    partitioned: change.rename.partitioned === true,
    syncTriggerNamePattern: SYNC_TRIGGER_NAME_PATTERN,
    lateTriggerTable: displayColumn(change.rename.schema, change.rename.table),
    lateTriggerSync: displayIdentifier(names.triggerName),
    lateTriggerHint: `rename that trigger so it sorts before ${names.triggerName}, or plan change ${change.id} again (\`phasectl plan rename … --replace\`, while it is not advanced)`,
  };
}
