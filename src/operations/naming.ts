import { createHash } from 'node:crypto';

/** PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes; longer names would silently collide. */
export const maxIdentifierBytes = 63;

/**
 * Returns `name` when it fits in 63 bytes (UTF-8); otherwise cuts it on a character boundary and
 * appends `_` + the first 8 hex digits of sha256(name), so two long names that share a prefix stay distinct.
 */
export function fitIdentifier(name: string): string {
  if (Buffer.byteLength(name, 'utf8') <= maxIdentifierBytes) return name;
  const suffix = `_${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 8)}`;
  const budget = maxIdentifierBytes - suffix.length;
  let kept = '';
  let bytes = 0;
  for (const character of name) {
    const size = Buffer.byteLength(character, 'utf8');
    if (bytes + size > budget) break;
    kept += character;
    bytes += size;
  }
  return kept + suffix;
}

/** `my-change-id` → `my_change_id`: the part of function and trigger names that identifies the change. */
function changeSlug(changeId: string): string {
  return changeId.replace(/-/g, '_');
}

/** Name of the sync function inside schema `phasectl`: `sync_<id with - as _>`. */
export function syncFunctionName(changeId: string): string {
  return fitIdentifier(`sync_${changeSlug(changeId)}`);
}

/** Prefix of every sync trigger phasectl creates; other triggers on a table are the application's. */
export const SYNC_TRIGGER_PREFIX = 'zz_phasectl_sync_';

/**
 * Name of the sync trigger: `zz_phasectl_sync_<id>`. BEFORE triggers fire in name order, so `zz_`
 * runs ours after the application's own BEFORE triggers and copies their final values.
 */
export function triggerName(changeId: string): string {
  return defaultTriggerName(changeId, '');
}

/** `zz_phasectl_sync_<id><suffix>`, fitted: a sync trigger's name when `plan` recorded none (companions cut whole). */
function defaultTriggerName(changeId: string, suffix: string): string {
  return fitIdentifier(`${SYNC_TRIGGER_PREFIX}${changeSlug(changeId)}${suffix}`);
}

/** Byte order (C collation): the order in which PostgreSQL fires the triggers of one event. */
function sortsAfter(name: string, other: string): boolean {
  return Buffer.compare(Buffer.from(name, 'utf8'), Buffer.from(other, 'utf8')) > 0;
}

/**
 * The sync trigger name `plan` records for a table whose own BEFORE triggers include one sorting after the default
 * `zz_phasectl_sync_<id>`: a longer run of `z` (`zzz_phasectl_sync_<id>`, …) until it sorts after all of them.
 * Undefined when the default already does (nothing to record), `null` when no name of 63 bytes can (a trigger
 * named `{…`, `~…` or with a non-ASCII first letter). Pure.
 */
export function syncTriggerNameAfter(changeId: string, beforeTriggers: readonly string[]): string | undefined | null {
  const last = (name: string) => beforeTriggers.every((trigger) => sortsAfter(name, trigger));
  if (last(triggerName(changeId))) return undefined;
  for (let run = 3; run <= 40; run++) {
    const name = fitIdentifier(`${'z'.repeat(run)}_phasectl_sync_${changeSlug(changeId)}`);
    if (last(name)) return name;
  }
  return null;
}

/** Whether a trigger name is one of phasectl's sync triggers (`zz_phasectl_sync_…`, or a recorded `zzz…_phasectl_sync_…`). */
export const SYNC_TRIGGER_NAME_PATTERN = '^zz+_phasectl_sync_';

/**
 * The four sync trigger names of a change: the recorded `syncTrigger` (see syncTriggerNameAfter) and its `$insert`,
 * `$insert_old` and `$copy` (updates of the authority: copies it over) companions, or the default names.
 */
export function syncTriggerNames(changeId: string, recorded: string | undefined) {
  const name = (suffix: string) =>
    recorded === undefined ? defaultTriggerName(changeId, suffix) : fitIdentifier(`${recorded}${suffix}`);
  return {
    triggerName: recorded ?? triggerName(changeId),
    insertTriggerName: name('$insert'),
    insertOldTriggerName: name('$insert_old'),
    copyTriggerName: companionAfter(recorded ?? triggerName(changeId), '$copy'),
  };
}

/**
 * `name` + `suffix`, fitted to 63 bytes so that it still sorts after `name`: the `$copy` trigger must fire after the
 * sync trigger (a statement that writes both columns is settled first). fitIdentifier's `_` before the hash sorts
 * before the letter it replaces; `~` sorts after every character of a sync trigger name (`[a-z0-9_]`, the spec's
 * rule for a recorded one). Pure.
 */
function companionAfter(name: string, suffix: string): string {
  const fitted = fitIdentifier(`${name}${suffix}`);
  return fitted === `${name}${suffix}` ? fitted : fitted.replace(/_([0-9a-f]{8})$/, '~$1');
}

/**
 * Name of the sync trigger for inserts, beside triggerName's (updates): `zz_phasectl_sync_<id>$insert`. A `$`
 * never occurs in a change id's slug, so it cannot collide with another change's trigger on the same table.
 */
export function insertTriggerName(changeId: string): string {
  return defaultTriggerName(changeId, '$insert');
}

/**
 * Name of a move's AFTER INSERT sync trigger, beside insertTriggerName's (BEFORE INSERT): `zz_phasectl_sync_<id>$inserted`.
 * It writes an inserted row's value through to the partner row of the other table; AFTER, because PostgreSQL fires
 * BEFORE INSERT triggers for rows an `INSERT … ON CONFLICT` (or a later BEFORE trigger) then does not insert.
 */
export function afterInsertTriggerName(changeId: string): string {
  return defaultTriggerName(changeId, '$inserted');
}

/**
 * Name of a same-type rename's copy function in schema `phasectl`: `sync_<id>$copy`, called by the `$copy` trigger
 * (BEFORE UPDATE OF the authority column): one assignment, the authority's value over the other column.
 */
export function copyFunctionName(changeId: string): string {
  return fitIdentifier(`sync_${changeSlug(changeId)}$copy`);
}

/**
 * Name of the second insert trigger, for the insert of old code (`$insert_old`: the new column NULL, the old one
 * set), which fires after `$insert` (name order) and calls a function that does one assignment.
 */
export function insertOldTriggerName(changeId: string): string {
  return defaultTriggerName(changeId, '$insert_old');
}

/**
 * Names of the insert functions in schema `phasectl`: `sync_<id>$insert` (a rename without a type change: one
 * function for every insert), or, for a type change, `sync_<id>$insert_old` (copies the old column into the new one;
 * `$insert_new`, the reverse, was used by earlier versions). `$` keeps them apart from every change's sync function.
 */
export function insertFunctionName(changeId: string, writer: 'any' | 'old' | 'new'): string {
  return fitIdentifier(`sync_${changeSlug(changeId)}$insert${writer === 'any' ? '' : `_${writer}`}`);
}

/**
 * Name of the `CHECK (column IS NOT NULL)` constraint that stands in for NOT NULL: `<table>_<column>_not_null_check`.
 * Not `<table>_<column>_not_null`: PostgreSQL 18 gives that name to the NOT NULL constraint itself when
 * `SET NOT NULL` creates it, and a check holding it would push the real one to `…_not_null1`.
 */
export function notNullCheckName(table: string, column: string): string {
  return fitIdentifier(`${table}_${column}_not_null_check`);
}

/**
 * Name of an index or constraint rebuilt on the new column: the old name with the last occurrence of the
 * old column's name replaced by the new one (the column usually follows the table name, which may contain
 * the same word), else `<old name>_<to>`; fitted to 63 bytes.
 */
export function derivedName(oldName: string, fromColumn: string, toColumn: string): string {
  const at = fromColumn === '' ? -1 : oldName.lastIndexOf(fromColumn);
  const renamed =
    at === -1 ? `${oldName}_${toColumn}` : oldName.slice(0, at) + toColumn + oldName.slice(at + fromColumn.length);
  return fitIdentifier(renamed);
}

/** Name of a move's second sync function, the one on the target table: `sync_<id>_target`. */
export function targetSyncFunctionName(changeId: string): string {
  return fitIdentifier(`sync_${changeSlug(changeId)}_target`);
}

/**
 * The transaction-local setting a move's triggers set to 'on' around their write-through to the other
 * table, so the other table's trigger does not write back: `phasectl.move_<id with - as _>`.
 */
export function moveGuardSetting(changeId: string): string {
  return `phasectl.move_${changeSlug(changeId)}`;
}

/**
 * Name of an index or constraint copied to another table by a move: the source table's name replaced by
 * the target's (first occurrence), then the column's (last occurrence) when it changes; `<name>_<target table>`
 * when neither appears. Index names are unique per schema, so the copy must not keep the old name.
 */
export function movedName(
  oldName: string,
  source: { table: string; column: string },
  target: { table: string; column: string },
): string {
  let name = oldName;
  const at = name.indexOf(source.table);
  if (at !== -1 && source.table !== target.table)
    name = name.slice(0, at) + target.table + name.slice(at + source.table.length);
  if (source.column !== target.column) {
    const columnAt = name.lastIndexOf(source.column);
    if (columnAt !== -1) name = name.slice(0, columnAt) + target.column + name.slice(columnAt + source.column.length);
  }
  if (name === oldName) name = `${oldName}_${target.table}`;
  return fitIdentifier(name);
}
