import pg from 'pg';
import { runBackfill } from '../../src/backfill/engine.js';
import type { Step } from '../../src/operations/types.js';
import { applyStep } from './apply-sql.js';

/**
 * Phase 1's expand step of `steps`, then its backfill in batches of 10, with `write` run on a connection of its own
 * once the first batch is done (and awaited before this returns): a write that lands while the walk is under way,
 * e.g. an UPDATE giving a row far ahead of the walk a key it has already passed.
 */
export async function backfillWithWriteAfterFirstBatch(
  session: pg.Client,
  url: string,
  steps: readonly Step[],
  write: string,
): Promise<void> {
  await applyStep(
    session,
    steps.find((step) => step.name === 'expand')!,
  );
  const plan = steps.find((step) => step.action === 'backfill')!.backfill!;
  const app = new pg.Client({ connectionString: url });
  await app.connect();
  let written: Promise<unknown> | undefined;
  try {
    await runBackfill(session, plan, {
      batchSize: 10,
      targetBatchMs: 1000,
      log: (event) => {
        if (event.type === 'backfill-progress' && !written) written = app.query(write);
      },
    });
    await written;
  } finally {
    await app.end();
  }
}
