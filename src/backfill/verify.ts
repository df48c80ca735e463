import type pg from 'pg';
import { InputError, PhasectlError, RuntimeFailure } from '../errors.js';
import type { BackfillPlan } from '../operations/types.js';
import { silent, type EventLog } from '../events.js';
import { describePgError, pgError } from '../session/pg-error.js';
import { ensureStateSchema } from '../session/state-schema.js';
import { requireTrustedTables } from '../session/table-trust.js';
import { requireTrustedBackfill } from './table-trust.js';
import { qualify } from '../render/quote.js';
import { nextBatchSize } from './batch-size.js';
import { addKeyOperatorSchemas } from './key-operator-schemas.js';
import { firstKeyIn, nextBounds } from './key-bounds.js';
import { integerSpanEnd, isSingleIntegerKey, keysetQueries, type KeysetQueries } from './keyset.js';
import { withGuardedSession } from './session-guard.js';
import { cutKeySpace, type WorkerConnection } from './parallel.js';
import {
  isPartitionOf,
  isPartitioned,
  leafEstimates,
  leafKey,
  leafPartitions,
  leafSpans,
  leafWalk,
  piecesOf,
} from './partitions.js';
import type { TableName } from '../spec/types.js';
import {
  addBatch,
  AUDIT_SETTINGS_SQL,
  checksumKindOf,
  emptyTally,
  recordAuditFigures,
  type AuditBatchRow,
  type AuditTally,
} from './audit.js';

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
  /** Key ranges counted at once, each on its own connection (default 1); more than 1 needs `openWorker`. */
  jobs?: number;
  openWorker?: () => Promise<WorkerConnection>;
  /** Record the walk's audit figures (src/backfill/audit.ts) under this phase; none when unset or the plan has no auditSql. */
  auditPhase?: number;
  /** Who takes the figures when not `migrate` (`phasectl verify` run by hand), recorded beside them. */
  auditTakenBy?: string;
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
export async function runVerify(
  session: pg.ClientBase,
  plan: BackfillPlan,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  return withGuardedSession(session, () => verify(session, plan, options));
}

async function verify(session: pg.ClientBase, plan: BackfillPlan, options: VerifyOptions): Promise<VerifyResult> {
  const log = options.log ?? silent;
  const queries = keysetQueries(plan);
  const jobs = options.jobs ?? 1;
  if (jobs > 1 && !options.openWorker) {
    throw new InputError(`a verify with ${jobs} jobs needs a way to open more connections`, {
      hint: 'pass openWorker to runVerify (the CLI and migrate do), or jobs: 1',
    });
  }
  try {
    await ensureStateSchema(session);
    await addKeyOperatorSchemas(session, plan.keyTypes);
    await requireTrustedBackfill(session, plan);
    let differing = 0;
    let batches = 0;
    let checked = 0;
    const audit = options.auditPhase !== undefined && plan.auditSql ? emptyTally() : undefined;
    const walkOptions = { ...options, audit };
    const onCount = (rows: number, found: number) => {
      checked += rows;
      differing += found;
      batches += 1;
      log({ type: 'verify-progress', changeId: plan.changeId, checked, differing });
    };
    const count = async (client: pg.ClientBase, item: CountItem) => {
      if (!item.leaf) return countRanges(client, plan, queries, item.range, walkOptions, onCount);
      const { plan: leafPlan, queries: leafQueries } = leafWalk(plan, item.leaf);
      let found = 0;
      try {
        await countRanges(client, leafPlan, leafQueries, item.range, walkOptions, (rows, n) => {
          found += n;
          onCount(rows, n);
        });
      } catch (error) {
        // A leaf dropped or detached mid-count: its rows are no longer the table's (not a failure).
        if (await isPartitionOf(client, plan.table, item.leaf).catch(() => true)) throw error;
        differing -= found;
        log({ type: 'verify-progress', changeId: plan.changeId, checked, differing });
      }
    };
    const run = async (items: CountItem[]) => {
      if (items.length <= 1 || jobs <= 1 || !options.openWorker) {
        for (const item of items) await count(session, item);
        return;
      }
      await inParallel(items, jobs, options.openWorker, async (client, item) => {
        await addKeyOperatorSchemas(client, plan.keyTypes);
        await count(client, item);
      });
    };
    if (await isPartitioned(session, plan.table)) {
      // Leaf by leaf, then again for any leaf created or attached while counting, until no new one turns up.
      const counted = new Set<string>();
      for (let items = await leafItems(session, plan, jobs, counted); items.length > 0;) {
        await requireTrustedTables(session, [qualify(plan.table.schema, plan.table.table)]);
        await run(items);
        items = await leafItems(session, plan, jobs, counted);
      }
    } else {
      const upper = (await session.query<{ key: string[] }>(queries.maxKey)).rows[0]?.key;
      const ranges: Array<{ after: string[] | null; upper: string[] }> = !upper
        ? []
        : jobs > 1
          ? await cutKeySpace(session, plan, queries, null, upper, jobs)
          : [{ after: null, upper }];
      await run(ranges.map((range) => ({ range })));
    }
    await recordVerification(session, plan.changeId, differing);
    if (audit)
      await recordAuditFigures(
        session,
        plan.changeId,
        options.auditPhase!,
        audit,
        checksumKindOf(plan.auditSql!),
        options.auditTakenBy,
      );
    log({ type: 'verify-done', changeId: plan.changeId, differing });
    return { changeId: plan.changeId, differing, batches };
  } catch (error) {
    if (error instanceof PhasectlError) throw error;
    throw new RuntimeFailure(`verify of ${plan.changeId} failed: ${describePgError(error)}`, {
      hint: `fix the cause, then rerun \`phasectl verify ${plan.changeId}\``,
      cause: error,
    });
  }
}

/** Records a verification's result (phasectl.verifications, which the switch's guard reads). */
export async function recordVerification(session: pg.ClientBase, changeId: string, differing: number): Promise<void> {
  await session.query(
    `INSERT INTO phasectl.verifications (change_id, differing) VALUES ($1, $2)
     ON CONFLICT (change_id) DO UPDATE SET differing = EXCLUDED.differing, checked_at = now()`,
    [changeId, differing],
  );
}

/** One span of keys to count: of the change's table, or of one leaf partition of it. */
interface CountItem {
  leaf?: TableName;
  range: { after: string[] | null; upper: string[] };
}

/**
 * The spans of the leaves not counted yet (added to `counted`): one per leaf, or several for a leaf far bigger than
 * its share of the jobs; none for an empty leaf.
 */
async function leafItems(
  session: pg.ClientBase,
  plan: BackfillPlan,
  jobs: number,
  counted: Set<string>,
): Promise<CountItem[]> {
  const leaves = (await leafPartitions(session, plan.table)).filter((leaf) => !counted.has(leafKey(leaf)));
  for (const leaf of leaves) counted.add(leafKey(leaf));
  const estimates = await leafEstimates(session, plan, leaves);
  const share = estimates.reduce((sum, n) => sum + n, 0) / jobs;
  const items: CountItem[] = [];
  for (const [i, leaf] of leaves.entries()) {
    for (const range of await leafSpans(session, plan, leaf, piecesOf(estimates[i]!, share, jobs)))
      items.push({ leaf, range });
  }
  return items;
}

/**
 * Counts the differing rows of the keys `(after, upper]` in adaptive batches on `session`, reporting each count
 * (rows walked, differing) to `onCount`.
 */
async function countRanges(
  session: pg.ClientBase,
  plan: BackfillPlan,
  queries: KeysetQueries,
  range: { after: string[] | null; upper: string[] },
  options: VerifyOptions & { audit?: AuditTally },
  onCount: (rows: number, differing: number) => void,
): Promise<void> {
  const initial = options.batchSize ?? 10_000;
  let size = initial;
  const floor = Math.min(100, initial);
  const target = options.targetBatchMs ?? DEFAULT_VERIFY_BATCH_MS;
  // Integer keys are cut by key value: a span can hold any number of rows up to the span, and sparse keys
  // (random or strided ids) need spans far wider than the row count, so the span is not capped; a count
  // that runs past this timeout is cancelled and retried on a narrower span instead.
  const timeoutMs = options.countTimeoutMs ?? Math.max(1000, 10 * target);
  const byKeyValue = isSingleIntegerKey(plan.keyTypes);
  const upper = range.upper;
  let last: string[] | undefined = range.after ?? undefined;
  for (;;) {
    const next = await nextRange(session, queries, plan.keyTypes, last, upper, size);
    if (!next) break;
    const [first, end] = next;
    const started = performance.now();
    const counted = await countRange(session, plan, first, end, timeoutMs, options.audit);
    const countMs = performance.now() - started;
    if (counted === undefined) {
      // The range held far more rows than the last one (sparse keys turning dense): retry it narrower.
      if (size <= floor)
        throw new RuntimeFailure(
          `verify of ${plan.changeId}: counting ${size} key(s) from ${first.join(',')} took over ${timeoutMs} ms`,
          { hint: 'the table is very busy or bloated; VACUUM it, then rerun `phasectl verify ' + plan.changeId + '`' },
        );
      size = Math.max(floor, Math.floor(size / 16));
      options.log?.({
        type: 'retry',
        file: `verify ${plan.changeId}`,
        attempt: 1,
        delayMs: 0,
        reason: `a count ran past ${timeoutMs} ms; retrying ${size} keys from ${first.join(',')}`,
      });
      continue;
    }
    onCount(size, counted);
    last = end;
    size = nextBatchSize(size, countMs, target, initial, {
      max: byKeyValue ? Number.MAX_SAFE_INTEGER : MAX_VERIFY_BATCH_SIZE,
    });
  }
}

/**
 * Runs `work` over `items` with up to `jobs` workers, each on a connection of its own (guarded like the main
 * session); the first failure stops the others from taking more items and is thrown.
 */
async function inParallel<T>(
  items: T[],
  jobs: number,
  openWorker: () => Promise<WorkerConnection>,
  work: (client: pg.ClientBase, item: T) => Promise<void>,
): Promise<void> {
  const queue = [...items];
  const errors: unknown[] = [];
  const runWorker = async () => {
    try {
      const worker = await openWorker();
      try {
        await withGuardedSession(worker.client, async () => {
          for (let item = queue.shift(); item !== undefined && errors.length === 0; item = queue.shift())
            await work(worker.client, item);
        });
      } finally {
        await worker.release();
      }
    } catch (error) {
      errors.push(error);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, runWorker));
  if (errors.length > 0) throw errors[0];
}

/**
 * The next closed range to count, or undefined when the walk is done. A single integer key is cut by key
 * values (one cheap `LIMIT 1` probe for the first key, then `first + size − 1`): after the backfill most
 * heap pages are no longer all-visible, so an `OFFSET` scan to find the end would visit every row's heap
 * tuple once more just to skip it. Other keys use the `OFFSET` bounds query.
 */
async function nextRange(
  session: pg.ClientBase,
  queries: KeysetQueries,
  keyTypes: string[],
  last: string[] | undefined,
  upper: string[],
  size: number,
): Promise<[string[], string[]] | undefined> {
  if (isSingleIntegerKey(keyTypes)) {
    const first = await firstKeyIn(session, queries, last ?? null, upper);
    return first ? [first, integerSpanEnd(keyTypes, first, size, upper)!] : undefined;
  }
  const bounds = await nextBounds(session, queries, last ?? null, upper, size);
  return bounds ? [bounds.first, bounds.last ?? upper] : undefined;
}

/**
 * A span of a single integer key is read through a bitmap scan, not an index scan. After the backfill every row
 * has a dead version in key order at the start of the heap and its live one appended at the end; an index scan
 * fetches both, one heap access per tuple, while a bitmap scan reads each page of the span once, in order
 * (1M rows, spans of 125k: 800–870 ms against 385 ms; one sequential scan 180–290 ms). The statistics, taken
 * before the backfill, still promise a perfect correlation, so the planner picks the index scan by itself. Only
 * for these spans: a `(t.id) >= $1 AND (t.id) <= $2` span always has a bitmap path, so turning index scans off
 * cannot turn a span into a scan of the whole table.
 */
const BITMAP_SPANS_SQL = 'SET LOCAL enable_indexscan = off';

/**
 * One read-only counting statement under a statement_timeout; undefined when it ran past it. With `audit`, the
 * plan's auditSql instead, which also sums the batch's figures; added to the tally only once the batch committed.
 */
async function countRange(
  session: pg.ClientBase,
  plan: BackfillPlan,
  first: string[],
  end: string[],
  timeoutMs: number,
  audit?: AuditTally,
): Promise<number | undefined> {
  try {
    await session.query(
      `BEGIN READ ONLY; SET LOCAL statement_timeout = '${Math.round(timeoutMs)}ms'${audit ? `; ${AUDIT_SETTINGS_SQL}` : ''}` +
        (isSingleIntegerKey(plan.keyTypes) ? `; ${BITMAP_SPANS_SQL}` : ''),
    );
    // Auditing, one statement counts the differing rows and sums the figures (one scan of the batch).
    const sql = audit && plan.auditSql ? plan.auditSql : plan.countDifferentSql;
    const { rows } = await session.query<AuditBatchRow>(sql, [...first, ...end]);
    await session.query('COMMIT');
    if (audit && rows[0]) addBatch(audit, rows[0]);
    return Number(rows[0]?.differing ?? 0);
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    if (pgError(error)?.code === '57014' && /statement timeout/.test(pgError(error)?.message ?? '')) return undefined;
    throw error;
  }
}
