import { describe, expect, test } from 'vitest';
import { giveWayLockTimeoutMs, parseSettingMs } from '../../src/session/lock-timeout.js';

describe('parseSettingMs: a time setting as current_setting shows it', () => {
  test.each([
    ['1s', 1000],
    ['200ms', 200],
    ['1min', 60_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['0', 0],
    ['750', 750],
  ])('%s → %d ms', (setting, ms) => expect(parseSettingMs(setting)).toBe(ms));
  test('unreadable → undefined', () => expect(parseSettingMs('soon')).toBeUndefined());
});

describe('giveWayLockTimeoutMs: the user bound, capped at deadlock_timeout / 3, never 0', () => {
  test('the default 2 s under the default deadlock_timeout (1 s) → 333 ms', () =>
    expect(giveWayLockTimeoutMs(2000, 1000)).toBe(333));
  test('a shorter --lock-timeout stays', () => expect(giveWayLockTimeoutMs(100, 1000)).toBe(100));
  test('a long deadlock_timeout does not lengthen the user bound', () =>
    expect(giveWayLockTimeoutMs(2000, 60_000)).toBe(2000));
  test('a deadlock_timeout set very low: 1 ms, never 0 (0 would mean no limit)', () => {
    expect(giveWayLockTimeoutMs(2000, 2)).toBe(1);
    expect(giveWayLockTimeoutMs(2000, 1)).toBe(1);
  });
  test('deadlock_timeout unknown → the user bound', () => expect(giveWayLockTimeoutMs(2000, undefined)).toBe(2000));
});
