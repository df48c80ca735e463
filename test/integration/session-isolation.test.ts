import { expect, test } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll } from '../support/test-project.js';

const cleanups = cleanupsAfterAll();

/**
 * A database whose application runs SERIALIZABLE often says so once for everyone (`ALTER DATABASE … SET
 * default_transaction_isolation`), and phasectl's sessions inherited it: a read-only verification batch was cancelled
 * with 40001 ("Canceled on conflict out to pivot …, during read") under six serializable writers, and `migrate` stopped
 * in phase 3 with "fix the cause, then rerun `phasectl verify`". Every phasectl session now runs READ COMMITTED, the
 * isolation its backfill, verification and guards are written for; the role's and the URL's settings cannot change it.
 */
test('phasectl sessions run READ COMMITTED under a database default of SERIALIZABLE or PGOPTIONS asking for another', async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  await query(db.url, `ALTER DATABASE "${db.name}" SET default_transaction_isolation = 'serializable'`);
  expect(await query(db.url, `SELECT current_setting('transaction_isolation') AS level`)).toEqual([
    { level: 'serializable' },
  ]);
  const saved = process.env.PGOPTIONS;
  process.env.PGOPTIONS = '-c default_transaction_isolation=repeatable\\ read';
  try {
    const connection = await connect(db.url);
    try {
      const client = await connection.pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query(`SELECT current_setting('transaction_isolation') AS level`);
        await client.query('COMMIT');
        expect(rows).toEqual([{ level: 'read committed' }]);
      } finally {
        client.release();
      }
    } finally {
      await connection.close();
    }
  } finally {
    if (saved === undefined) delete process.env.PGOPTIONS;
    else process.env.PGOPTIONS = saved;
  }
});
