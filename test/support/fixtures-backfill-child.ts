/**
 * Runs the backfill engine of the `killed` fixture table in a child process with small batches,
 * so a test can SIGKILL it part-way. Usage: node --import tsx test/support/fixtures-backfill-child.ts <url>
 */
import pg from 'pg';
import { runBackfill } from '../../src/backfill/engine.js';
import { renamePlan } from './fixtures-backfill.js';

const url = process.argv[2];
if (!url) throw new Error('usage: fixtures-backfill-child.ts <database-url>');
const client = new pg.Client({ connectionString: url });
await client.connect();
// A 1 ms target keeps batches at the floor (100 rows), and the pause makes the walk last seconds.
await runBackfill(client, renamePlan('killed'), { batchSize: 100, targetBatchMs: 1, pauseMs: 20 });
await client.end();
