import { expect, test } from 'vitest';
import { compareReleaseNames } from '../../src/releases/order.js';

test.each([
  ['1.9.0', '1.10.0'],
  ['1.0.1', '1.7.0'],
  ['2024.06', '2024.11'],
  ['v2', 'v10'],
  ['1.0', '1.0.1'],
  ['1.0.0', '1.0.0-rc1'], // not semver: a pre-release sorts after its release (documented; --force-order)
  ['r99999999999999999999', 'r100000000000000000000'],
  ['release-a', 'release-b'],
])('%s sorts before %s', (earlier, later) => {
  expect(Math.sign(compareReleaseNames(earlier, later))).toBe(-1);
  expect(Math.sign(compareReleaseNames(later, earlier))).toBe(1);
});

test('equal names and leading zeros compare equal', () => {
  expect(compareReleaseNames('1.4.0', '1.4.0')).toBe(0);
  expect(compareReleaseNames('1.04', '1.4')).toBe(0);
});
