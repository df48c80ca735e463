/**
 * Runs the backfill engine on a plan given as JSON (the generated plan of a test's change) in a child process
 * with small batches, so a test can SIGKILL it part-way.
 * Usage: node --import tsx test/support/fixtures-backfill-child.ts <url> <plan-json>
 */
import pg from 'pg';
import { runBackfill } from '../../src/backfill/engine.js';
import type { BackfillPlan } from '../../src/operations/types.js';

const [url, planJson] = process.argv.slice(2);
if (!url || !planJson) throw new Error('usage: fixtures-backfill-child.ts <database-url> <plan-json>');
const client = new pg.Client({ connectionString: url });
await client.connect();
// A 1 ms target keeps batches at the floor (100 rows), and the pause makes the walk last seconds.
await runBackfill(client, JSON.parse(planJson) as BackfillPlan, { batchSize: 100, targetBatchMs: 1, pauseMs: 20 });
await client.end();
