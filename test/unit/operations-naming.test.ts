import { expect, test } from 'vitest';
import {
  derivedName,
  fitIdentifier,
  notNullCheckName,
  syncFunctionName,
  triggerName,
} from '../../src/operations/naming.js';

test('names phasectl creates', () => {
  expect(syncFunctionName('users-job-title')).toBe('sync_users_job_title');
  expect(triggerName('users-job-title')).toBe('zz_phasectl_sync_users_job_title');
  expect(notNullCheckName('users', 'favourite_color')).toBe('users_favourite_color_not_null_check');
  expect(derivedName('users_job_title_idx', 'job_title', 'favourite_color')).toBe('users_favourite_color_idx');
  expect(derivedName('user_user_idx', 'user', 'login')).toBe('user_login_idx');
  expect(derivedName('some_idx', 'job_title', 'color')).toBe('some_idx_color');
});

test('fitIdentifier keeps names ≤ 63 bytes, cuts on a character boundary and adds a stable hash', () => {
  expect(fitIdentifier('a'.repeat(63))).toBe('a'.repeat(63));
  const long = fitIdentifier('a'.repeat(64));
  expect(Buffer.byteLength(long)).toBe(63);
  expect(long).toMatch(/^a{54}_[0-9a-f]{8}$/);
  expect(fitIdentifier('a'.repeat(64))).toBe(long);
  expect(fitIdentifier('a'.repeat(65))).not.toBe(long);
  const unicode = fitIdentifier('é'.repeat(40));
  expect(Buffer.byteLength(unicode)).toBeLessThanOrEqual(63);
  expect(unicode).toMatch(/^(é){27}_[0-9a-f]{8}$/);
  expect(Buffer.byteLength(fitIdentifier('🎨'.repeat(20)))).toBeLessThanOrEqual(63);
  expect(fitIdentifier('🎨'.repeat(20))).not.toContain('\ufffd');
});
