import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase } from '../support/database.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => db?.drop());

test('each test file gets its own empty database on a real PostgreSQL', async () => {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ db: string; version: number; tables: string }>(
      `SELECT current_database() AS db, current_setting('server_version_num')::int AS version,
              (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS tables`,
    );
    expect(rows[0]?.db).toBe(db.name);
    expect(rows[0]?.version).toBeGreaterThanOrEqual(140000);
    expect(rows[0]?.tables).toBe('0');
  } finally {
    await client.end();
  }
});
