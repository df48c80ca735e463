import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import type { BackfillPlan } from '../operations/types.js';
import { silent, type EventLog } from '../runner/events.js';
import { describePgError } from '../runner/pg-error.js';
import { ensureStateSchema } from '../runner/state-schema.js';
import { keysetQueries } from './keyset.js';
import { withGuardedSession } from './session-guard.js';

export interface VerifyOptions {
  /** Rows per counting batch (default 10000). */
  batchSize?: number;
  log?: EventLog;
}

export interface VerifyResult {
  changeId: string;
  differing: number;
  batches: number;
}

/**
 * Counts rows whose columns differ, walking the key in batches like the backfill (each count is its
 * own short statement: no long lock, no writes), then records the result in phasectl.verifications,
 * which phase 2's guard reads. Rows written after the walk started are kept in sync by the trigger.
 */
export async function runVerify(session: pg.ClientBase, plan: BackfillPlan, options: VerifyOptions = {}): Promise<VerifyResult> {
  return withGuardedSession(session, () => verify(session, plan, options));
}

async function verify(session: pg.ClientBase, plan: BackfillPlan, options: VerifyOptions): Promise<VerifyResult> {
  const log = options.log ?? silent;
  const queries = keysetQueries(plan);
  const size = options.batchSize ?? 10_000;
  try {
    await ensureStateSchema(session);
    const upper = (await session.query<{ key: string[] }>(queries.maxKey)).rows[0]?.key;
    let differing = 0;
    let batches = 0;
    let last: string[] | undefined;
    while (upper) {
      const next = last
        ? await session.query<{ key: string[] }>(queries.firstKeyAfter, [...last, ...upper])
        : await session.query<{ key: string[] }>(queries.firstKey, upper);
      const first = next.rows[0]?.key;
      if (!first) break;
      const end = (await session.query<{ key: string[] }>(queries.lastKey, [...first, ...upper, size - 1])).rows[0]?.key ?? upper;
      const { rows } = await session.query<{ differing: string }>(plan.countDifferentSql, [...first, ...end]);
      differing += Number(rows[0]?.differing ?? 0);
      batches += 1;
      last = end;
      log({ type: 'verify-progress', changeId: plan.changeId, checked: batches * size, differing });
    }
    await session.query(
      `INSERT INTO phasectl.verifications (change_id, differing) VALUES ($1, $2)
       ON CONFLICT (change_id) DO UPDATE SET differing = EXCLUDED.differing, checked_at = now()`,
      [plan.changeId, differing],
    );
    log({ type: 'verify-done', changeId: plan.changeId, differing });
    return { changeId: plan.changeId, differing, batches };
  } catch (error) {
    if (error instanceof RuntimeFailure) throw error;
    throw new RuntimeFailure(`verify of ${plan.changeId} failed: ${describePgError(error)}`, {
      hint: `fix the cause, then rerun \`phasectl verify ${plan.changeId}\``,
      cause: error,
    });
  }
}
