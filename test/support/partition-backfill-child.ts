/**
 * Runs the backfill engine on a plan given as JSON with `jobs` workers (each on its own connection) and small,
 * paced batches, so a test can SIGKILL it with every worker part-way.
 * Usage: node --import tsx test/support/partition-backfill-child.ts <url> <plan-json> <jobs>
 */
import pg from 'pg';
import { runBackfill } from '../../src/backfill/engine.js';
import { workerPool } from '../../src/backfill/workers.js';
import type { BackfillPlan } from '../../src/operations/types.js';

const [url, planJson, jobsText] = process.argv.slice(2);
if (!url || !planJson || !jobsText)
  throw new Error('usage: partition-backfill-child.ts <database-url> <plan-json> <jobs>');
const jobs = Number(jobsText);
const client = new pg.Client({ connectionString: url, application_name: 'phasectl test child' });
await client.connect();
const pool = workerPool(url, jobs, 'phasectl test child');
try {
  await runBackfill(client, JSON.parse(planJson) as BackfillPlan, {
    jobs,
    openWorker: pool.open,
    batchSize: 100,
    targetBatchMs: 1,
    pauseMs: 20,
  });
} finally {
  await pool.close();
  await client.end();
}
