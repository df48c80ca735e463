/**
 * Runs the generated phase-1 backfill of a move (read from a project's phases.yaml) in a child process with
 * small, slow batches, so a test can SIGKILL it part-way.
 * Usage: node --import tsx test/support/move-backfill-child.ts <database-url> <project-dir> <change-id>
 */
import { join } from 'node:path';
import pg from 'pg';
import { runBackfill } from '../../src/backfill/engine.js';
import { phaseSteps } from '../../src/operations/index.js';
import { loadPhasesFile } from '../../src/spec/load.js';

const [url, dir, changeId] = process.argv.slice(2);
if (!url || !dir || !changeId)
  throw new Error('usage: move-backfill-child.ts <database-url> <project-dir> <change-id>');
const { spec } = await loadPhasesFile(join(dir, 'phases.yaml'));
const change = spec.changes.find((candidate) => candidate.id === changeId);
const plan = change && phaseSteps(change, 1).up.find((step) => step.action === 'backfill')?.backfill;
if (!plan) throw new Error(`no backfill step for ${changeId}`);
const client = new pg.Client({ connectionString: url });
await client.connect();
await runBackfill(client, plan, { batchSize: 100, targetBatchMs: 1, pauseMs: 20 });
await client.end();
