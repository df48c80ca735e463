import type pg from 'pg';
import type { EventLog } from '../events.js';
import type { BackfillPlan } from '../operations/types.js';
import type { TableName } from '../spec/types.js';
import type { KeyRange } from './key-range.js';
import { keysetQueries } from './keyset.js';
import type { BackfillOptions } from './options.js';
import { walkRanges, type ParallelWalk } from './parallel.js';
import { leafEstimates, leafKey, leafPartitions, leafSpans, partitionName, piecesOf } from './partitions.js';
import { dropRange, loadRanges, saveRanges } from './range-state.js';
import { qualify } from '../render/quote.js';
import { requireTrustedTables } from '../session/table-trust.js';

/**
 * The backfill of a partitioned table: one stored range per leaf partition (a leaf much bigger than its share of
 * the jobs is cut into key ranges of its own), walked by `walkRanges` like any parallel backfill, so each leaf
 * resumes where it stopped after a kill and a finished leaf is not walked again. After each pass the leaves are
 * read again: a partition created or attached meanwhile is walked before the backfill reports done, and an
 * unfinished leaf that is no longer part of the table (detached, dropped) is skipped.
 */
export async function walkPartitions(
  session: pg.ClientBase,
  plan: BackfillPlan,
  options: BackfillOptions & { log: EventLog },
  walk: Omit<ParallelWalk, 'rowsEstimated' | 'baseRowsDone'>,
): Promise<{ rowsDone: number; rowsUpdated: number; batches: number }> {
  const parentQueries = keysetQueries(plan);
  let rowsUpdated = 0;
  let batches = 0;
  for (;;) {
    // Before any leaf is written, also those found since the last pass: none may run another role's code as us.
    await requireTrustedTables(session, [qualify(plan.table.schema, plan.table.table)]);
    const ranges = await partitionRanges(session, plan, walk.jobs, options.log);
    const base = await backfillRowsDone(session, plan);
    if (ranges.every((range) => range.finished)) {
      return { rowsDone: base + ranges.reduce((sum, range) => sum + range.rowsDone, 0), rowsUpdated, batches };
    }
    const walked = await walkRanges(session, plan, parentQueries, ranges, options, {
      ...walk,
      baseRowsDone: base,
      rowsEstimated: ranges.reduce((sum, range) => sum + (range.rowsEstimated ?? 0), 0),
    });
    rowsUpdated += walked.rowsUpdated;
    batches += walked.batches;
  }
}

/**
 * The stored ranges of a partitioned table's backfill, brought up to date with its leaves: a range for each leaf not
 * yet known (its upper key read now, after the sync trigger exists on it: later rows are kept in sync), and the
 * unfinished ranges of leaves that left the table dropped. Returns every stored range.
 */
export async function partitionRanges(
  session: pg.ClientBase,
  plan: BackfillPlan,
  jobs: number,
  log: EventLog,
): Promise<KeyRange[]> {
  const stored = await loadRanges(session, plan);
  const leaves = await leafPartitions(session, plan.table);
  const current = new Set(leaves.map(leafKey));
  const gone = stored.filter((range) => range.table && !range.finished && !current.has(leafKey(range.table)));
  for (const range of gone) await dropRange(session, plan, range.index!);
  const known = new Set(stored.flatMap((range) => (range.table ? [leafKey(range.table)] : [])));
  const found = leaves.filter((leaf) => !known.has(leafKey(leaf)));
  if (found.length === 0 && gone.length === 0) return stored;
  const estimates = await leafEstimates(session, plan, found);
  const storedEstimate = stored.reduce((sum, range) => sum + (range.rowsEstimated ?? 0), 0);
  const share = (storedEstimate + estimates.reduce((sum, n) => sum + n, 0)) / jobs;
  let next = stored.reduce((max, range) => Math.max(max, range.index ?? 0), 0) + 1;
  const added: KeyRange[] = [];
  for (const [i, leaf] of found.entries()) {
    const pieces = piecesOf(estimates[i]!, share, jobs);
    for (const range of await leafRanges(session, plan, leaf, pieces, estimates[i]!))
      added.push({ ...range, index: next++ });
  }
  await saveRanges(session, plan, added);
  const ranges = await loadRanges(session, plan);
  await session.query(
    `UPDATE phasectl.backfills SET rows_estimated = $3, updated_at = pg_catalog.now() WHERE change_id = $1 AND direction = $2`,
    [plan.changeId, plan.direction, ranges.reduce((sum, range) => sum + (range.rowsEstimated ?? 0), 0)],
  );
  log({
    type: 'backfill-partitions',
    changeId: plan.changeId,
    direction: plan.direction,
    found: found.map(partitionName),
    skipped: gone.map((range) => partitionName(range.table!)),
  });
  return ranges;
}

/** The ranges of one leaf: one, or `pieces` cut from its keys; an empty leaf is stored finished (upper key []). */
async function leafRanges(
  session: pg.ClientBase,
  plan: BackfillPlan,
  leaf: TableName,
  pieces: number,
  estimate: number,
): Promise<KeyRange[]> {
  const spans = await leafSpans(session, plan, leaf, pieces);
  const table = { schema: leaf.schema, table: leaf.table };
  if (spans.length === 0)
    return [{ table, after: null, upper: [], last: null, rowsDone: 0, finished: true, rowsEstimated: 0 }];
  return spans.map((span) => ({
    ...span,
    table,
    last: null,
    rowsDone: 0,
    finished: false,
    rowsEstimated: Math.round(estimate / spans.length),
  }));
}

/** rows_done of the change's own row (rows of ranges already folded into it). */
async function backfillRowsDone(session: pg.ClientBase, plan: BackfillPlan): Promise<number> {
  const { rows } = await session.query<{ rows_done: string }>(
    `SELECT rows_done FROM phasectl.backfills WHERE change_id = $1 AND direction = $2`,
    [plan.changeId, plan.direction],
  );
  return Number(rows[0]?.rows_done ?? 0);
}
