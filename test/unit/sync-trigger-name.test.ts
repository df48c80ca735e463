import { expect, test } from 'vitest';
import {
  afterInsertTriggerName,
  insertTriggerName,
  SYNC_TRIGGER_NAME_PATTERN,
  syncTriggerNameAfter,
  syncTriggerNames,
  triggerName,
} from '../../src/operations/naming.js';

test('the sync trigger name sorts after every BEFORE trigger of the table (byte order), or there is none', () => {
  expect(syncTriggerNameAfter('items-title', [])).toBeUndefined();
  expect(syncTriggerNameAfter('items-title', ['audit', 'zz_a', 'ZZZ'])).toBeUndefined();
  expect(syncTriggerNameAfter('items-title', ['zz_zebra'])).toBe('zzz_phasectl_sync_items_title');
  expect(syncTriggerNameAfter('items-title', ['zzzz_last', 'a'])).toBe('zzzz_phasectl_sync_items_title');
  expect(syncTriggerNameAfter('items-title', ['zzzz_zoo'])).toBe('zzzzz_phasectl_sync_items_title');
  expect(syncTriggerNameAfter('items-title', ['{late}'])).toBeNull();
  expect(syncTriggerNameAfter('items-title', ['été'])).toBeNull();
});

test('recorded names carry their insert companions; without one, the default names', () => {
  expect(syncTriggerNames('items-title', 'zzz_phasectl_sync_items_title')).toEqual({
    triggerName: 'zzz_phasectl_sync_items_title',
    insertTriggerName: 'zzz_phasectl_sync_items_title$insert',
    insertOldTriggerName: 'zzz_phasectl_sync_items_title$insert_old',
    copyTriggerName: 'zzz_phasectl_sync_items_title$copy',
  });
  expect(syncTriggerNames('items-title', undefined)).toEqual({
    triggerName: 'zz_phasectl_sync_items_title',
    insertTriggerName: 'zz_phasectl_sync_items_title$insert',
    insertOldTriggerName: 'zz_phasectl_sync_items_title$insert_old',
    copyTriggerName: 'zz_phasectl_sync_items_title$copy',
  });
});

test('the $copy trigger sorts after the sync trigger (it must fire second) for every recorded name, however long', () => {
  const longId = 'a'.repeat(20) + '-' + 'b'.repeat(19);
  const recorded = [
    undefined,
    ...Array.from({ length: 40 }, (_, run) => syncTriggerNameAfter(longId, ['z'.repeat(run + 2) + '~'])),
  ];
  for (const name of recorded) {
    if (name === null) continue;
    const names = syncTriggerNames(longId, name);
    expect(Buffer.byteLength(names.copyTriggerName)).toBeLessThanOrEqual(63);
    expect(Buffer.compare(Buffer.from(names.copyTriggerName), Buffer.from(names.triggerName))).toBe(1);
    expect(names.copyTriggerName).not.toBe(syncTriggerNames('other-' + longId.slice(6), name).copyTriggerName);
  }
  // Fitted: cut, then `~` and a hash, where fitIdentifier's `_` would have sorted first.
  expect(syncTriggerNames(longId, 'zzzzz_phasectl_sync_' + longId.replace('-', '_')).copyTriggerName).toMatch(
    /^zzzzz_phasectl_sync_a+_b+~[0-9a-f]{8}$/,
  );
});

test("a move's AFTER INSERT trigger is named beside its BEFORE INSERT one, and stays distinct when fitted to 63 bytes", () => {
  expect(afterInsertTriggerName('users-address')).toBe('zz_phasectl_sync_users_address$inserted');
  expect(insertTriggerName('users-address')).toBe('zz_phasectl_sync_users_address$insert');
  for (const id of ['a'.repeat(40), 'a'.repeat(44), 'a'.repeat(46), 'é'.repeat(30), 'x-'.repeat(40)]) {
    const after = afterInsertTriggerName(id);
    expect(Buffer.byteLength(after, 'utf8')).toBeLessThanOrEqual(63);
    expect(after).not.toBe(insertTriggerName(id));
    expect(after).not.toBe(triggerName(id));
    expect(after).toMatch(new RegExp(SYNC_TRIGGER_NAME_PATTERN));
  }
  expect(afterInsertTriggerName('a'.repeat(60))).not.toBe(afterInsertTriggerName('a'.repeat(61)));
});
