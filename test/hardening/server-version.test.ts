import { afterAll, beforeAll, expect, test } from 'vitest';
import { RuntimeFailure } from '../../src/errors.js';
import { openSession } from '../../src/session/session.js';
import { unsupportedServer } from '../../src/session/server-version.js';
import { createTestDatabase } from '../support/database.js';

/** The runner refuses servers older than PostgreSQL 14 in one place (openSession), before anything runs. */

test('server_version_num below 140000 is refused with the version and the fix', () => {
  const error = unsupportedServer(130012, '13.12');
  expect(error).toBeInstanceOf(RuntimeFailure);
  expect(error?.message).toBe('PostgreSQL 13.12 is not supported: phasectl needs PostgreSQL 14 or later');
  expect(error?.hint).toMatch(/upgrade/);
  expect(unsupportedServer(Number.NaN, '?')).toBeInstanceOf(RuntimeFailure);
  expect(unsupportedServer(140000, '14.0')).toBeUndefined();
  expect(unsupportedServer(180001, '18.1')).toBeUndefined();
});

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

test('the test server (14–18) is accepted by openSession', async () => {
  const run = await openSession(db.url);
  try {
    const { rows } = await run.session.query<{ num: string }>("SELECT current_setting('server_version_num') AS num");
    expect(Number(rows[0]!.num)).toBeGreaterThanOrEqual(140000);
  } finally {
    await run.close();
  }
});
