import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import type { BackfillPlan } from '../operations/types.js';
import { silent, type EventLog } from '../events.js';
import { describePgError, pgError } from '../session/pg-error.js';
import { ensureStateSchema } from '../session/state-schema.js';
import { nextBatchSize } from './batch-size.js';
import { addKeyOperatorSchemas } from './key-operator-schemas.js';
import { integerSpanEnd, isSingleIntegerKey, keysetQueries, type KeysetQueries } from './keyset.js';
import { withGuardedSession } from './session-guard.js';

export interface VerifyOptions {
  /** Rows of the first counting batch (default 10000); later batches adapt to `targetBatchMs`. */
  batchSize?: number;
  /**
   * Target duration of one counting statement in ms (default 200). Verification only reads — no row locks —
   * so its batches may run longer than the backfill's; each still ends quickly so that no snapshot is held
   * for the whole scan and a DDL queued behind it waits briefly.
   */
  targetBatchMs?: number;
  /** A counting statement running longer is cancelled and retried on a range 1/16 as wide (default max(1 s, 10 × target)). */
  countTimeoutMs?: number;
  log?: EventLog;
}

/** Default target duration of one counting statement (ms). */
export const DEFAULT_VERIFY_BATCH_MS = 200;
/** Largest counting batch (rows). */
const MAX_VERIFY_BATCH_SIZE = 500_000;

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
  const initial = options.batchSize ?? 10_000;
  let size = initial;
  let checked = 0;
  const floor = Math.min(100, initial);
  const target = options.targetBatchMs ?? DEFAULT_VERIFY_BATCH_MS;
  // Integer keys are cut by key value: a span can hold any number of rows up to the span, and sparse keys
  // (random or strided ids) need spans far wider than the row count, so the span is not capped; a count
  // that runs past this timeout is cancelled and retried on a narrower span instead.
  const timeoutMs = options.countTimeoutMs ?? Math.max(1000, 10 * target);
  const byKeyValue = isSingleIntegerKey(plan.keyTypes);
  try {
    await ensureStateSchema(session);
    await addKeyOperatorSchemas(session, plan.keyTypes);
    const upper = (await session.query<{ key: string[] }>(queries.maxKey)).rows[0]?.key;
    let differing = 0;
    let batches = 0;
    let last: string[] | undefined;
    while (upper) {
      const range = await nextRange(session, queries, plan.keyTypes, last, upper, size);
      if (!range) break;
      const [first, end] = range;
      const started = performance.now();
      const counted = await countRange(session, plan, first, end, timeoutMs);
      const countMs = performance.now() - started;
      if (counted === undefined) {
        // The range held far more rows than the last one (sparse keys turning dense): retry it narrower.
        if (size <= floor) throw new RuntimeFailure(`verify of ${plan.changeId}: counting ${size} key(s) from ${first.join(',')} took over ${timeoutMs} ms`, { hint: 'the table is very busy or bloated; VACUUM it, then rerun `phasectl verify ' + plan.changeId + '`' });
        size = Math.max(floor, Math.floor(size / 16));
        log({ type: 'retry', file: `verify ${plan.changeId}`, attempt: 1, delayMs: 0, reason: `a count ran past ${timeoutMs} ms; retrying ${size} keys from ${first.join(',')}` });
        continue;
      }
      differing += counted;
      batches += 1;
      checked += size;
      last = end;
      log({ type: 'verify-progress', changeId: plan.changeId, checked, differing });
      size = nextBatchSize(size, countMs, target, initial, { max: byKeyValue ? Number.MAX_SAFE_INTEGER : MAX_VERIFY_BATCH_SIZE });
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

/**
 * The next closed range to count, or undefined when the walk is done. A single integer key is cut by key
 * values (one cheap `LIMIT 1` probe for the first key, then `first + size − 1`): after the backfill most
 * heap pages are no longer all-visible, so an `OFFSET` scan to find the end would visit every row's heap
 * tuple once more just to skip it. Other keys use the `OFFSET` bounds query.
 */
async function nextRange(session: pg.ClientBase, queries: KeysetQueries, keyTypes: string[], last: string[] | undefined, upper: string[], size: number): Promise<[string[], string[]] | undefined> {
  if (isSingleIntegerKey(keyTypes)) {
    const next = last
      ? await session.query<{ key: string[] }>(queries.firstKeyAfter, [...last, ...upper])
      : await session.query<{ key: string[] }>(queries.firstKey, upper);
    const first = next.rows[0]?.key;
    return first ? [first, integerSpanEnd(keyTypes, first, size, upper)!] : undefined;
  }
  const bounds = last
    ? await session.query<{ first: string[] | null; last: string[] | null }>(queries.boundsAfter, [...last, ...upper, size - 1])
    : await session.query<{ first: string[] | null; last: string[] | null }>(queries.boundsFromStart, [...upper, size - 1]);
  const first = bounds.rows[0]?.first;
  return first ? [first, bounds.rows[0]?.last ?? upper] : undefined;
}

/** One read-only counting statement under a statement_timeout; undefined when it ran past it. */
async function countRange(session: pg.ClientBase, plan: BackfillPlan, first: string[], end: string[], timeoutMs: number): Promise<number | undefined> {
  try {
    await session.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = '${Math.round(timeoutMs)}ms'`);
    const { rows } = await session.query<{ differing: string }>(plan.countDifferentSql, [...first, ...end]);
    await session.query('COMMIT');
    return Number(rows[0]?.differing ?? 0);
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    if (pgError(error)?.code === '57014' && /statement timeout/.test(pgError(error)?.message ?? '')) return undefined;
    throw error;
  }
}
