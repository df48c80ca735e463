/**
 * What rename and move both need to walk a table's key in batches: the BackfillPlan the engine runs (backfill and
 * verify), the context of the DO blocks written for other runners, and the backfill/verify step drafts. A kind gives
 * its two batch statements; the key handling, the echo-suppression setting and the batch size live here. Pure.
 */
import { keyOperatorPathStatement } from './key-operators.js';
import { quoteIdent } from '../render/quote.js';
import { updatedColumns, updatedTable } from '../sql/update-target.js';
import type { KeyFacts, TableName } from '../spec/types.js';
import type { StepDraft } from './step-drafts.js';
import type { BackfillPlan } from './types.js';

/** Transaction-local setting a backfill batch sets to 'on', so the sync triggers do not echo its writes back. */
export const BACKFILL_SETTING = 'phasectl.backfill';

/** Keys per batch in the DO blocks written for other runners (phasectl's engine adapts its own). */
export const DO_BLOCK_BATCH_SIZE = 1000;

export type Direction = 'up' | 'down';

/** One value, or `(a, b)` for several: how SQL compares composite keys by row. */
export function sqlRow(values: string[]): string {
  return values.length === 1 ? (values[0] as string) : `(${values.join(', ')})`;
}

/** The key columns as `<alias>."k1"`, …. */
export function keyColumnsOf(key: KeyFacts, alias: string): string[] {
  return key.columns.map((name) => `${alias}.${quoteIdent(name)}`);
}

/**
 * The engine's closed range over the key: `$1..$k` is the batch's first key, `$k+1..$2k` its last, passed as text
 * and cast to the key types.
 */
export function keyRangeParams(key: KeyFacts, alias: string): string {
  const keyRow = sqlRow(keyColumnsOf(key, alias));
  const params = (offset: number) => sqlRow(key.types.map((type, i) => `CAST($${offset + i + 1} AS ${type})`));
  return `${keyRow} >= ${params(0)} AND ${keyRow} <= ${params(key.columns.length)}`;
}

/** The range of a DO block's batch over plpgsql variables: after `last_key_*` (none yet: from the start), up to `high_key_*`. */
export function keyRangeVariables(key: KeyFacts, alias: string): string {
  const keyRow = sqlRow(keyColumnsOf(key, alias));
  const numbers = key.columns.map((_, index) => index + 1);
  const low = sqlRow(numbers.map((n) => `last_key_${n}`));
  const high = sqlRow(numbers.map((n) => `high_key_${n}`));
  return `(last_key_1 IS NULL OR ${keyRow} > ${low}) AND ${keyRow} <= ${high}`;
}

/**
 * A batch's count of differing rows: `from` is the rest of the statement after the select list
 * (`FROM … WHERE <range> AND <differs>`).
 */
export function countDifferentSql(from: string): string {
  return `SELECT pg_catalog.count(*)::bigint AS differing ${from}`;
}

/** The same count inside a DO block, into its variable `in_batch`. */
export function countIntoBatchSql(from: string): string {
  return `SELECT pg_catalog.count(*) INTO in_batch ${from}`;
}

/**
 * The verification of one batch with its audit figures (see src/backfill/audit.ts), in one scan: the rows where
 * `differing` holds (as countDifferentSql counts them), then rows, non-NULL values and an order-independent
 * checksum of `source` (the old column as `up` converts it, typed as the new column) and of `target` (the new
 * column). The checksum sums `hashtextextended` (the 64-bit hash PostgreSQL's hash partitioning relies on, so it is
 * stable across majors and pg_upgrade) of each value's text image compared byte by byte (`COLLATE "C"`: under a
 * case-insensitive collation 'A' and 'a' would hash alike), so identical values of both columns give identical
 * sums; `sum(bigint)` is numeric, it cannot overflow. About nine times cheaper than the md5 prefix used before
 * (AUDIT_CHECKSUM_KIND), which made phase 1's audit walk a fifth of phase 1. `from` is the statement's FROM and
 * WHERE (the batch's range).
 */
export function auditSql(from: string, differing: string, source: string, target: string): string {
  const hash = (value: string) => `pg_catalog.hashtextextended((${value})::pg_catalog.text COLLATE pg_catalog."C", 0)`;
  return (
    `SELECT pg_catalog.count(*) FILTER (WHERE ${differing})::bigint AS differing, pg_catalog.count(*)::bigint AS rows, ` +
    `pg_catalog.count(${source})::bigint AS source_non_null, pg_catalog.sum(${hash(source)})::text AS source_checksum, ` +
    `pg_catalog.count(${target})::bigint AS target_non_null, pg_catalog.sum(${hash(target)})::text AS target_checksum ${from}`
  );
}

/** The plan the engine runs for a change and direction, around the kind's two batch statements. */
export function batchPlan(
  changeId: string,
  direction: Direction,
  table: TableName,
  key: KeyFacts,
  statements: { updateSql: string; countDifferentSql: string; auditSql?: string },
): BackfillPlan {
  return {
    changeId,
    direction,
    table: { schema: table.schema, table: table.table },
    keyColumns: [...key.columns],
    keyTypes: [...key.types],
    updateSql: statements.updateSql,
    countDifferentSql: statements.countDifferentSql,
    suppressSetting: BACKFILL_SETTING,
    ...(statements.auditSql ? { auditSql: statements.auditSql } : {}),
  };
}

/** What every backfill/verify DO block needs of the key (the kind adds its statements). */
export function walkKeyContext(key: KeyFacts, direction: Direction) {
  return {
    keys: key.columns.map((column, index) => ({ column, type: key.types[index] ?? 'text', n: index + 1, index })),
    keyColumns: keyColumnsOf(key, 't').join(', '),
    batchSize: DO_BLOCK_BATCH_SIZE,
    direction,
    keyOperatorPath: keyOperatorPathStatement(key.types),
    suppressSetting: BACKFILL_SETTING,
  };
}

/**
 * A backfill step: the engine runs `plan`, the file's body is the `backfill` template's DO block for other runners.
 * The template also gets the table and column the UPDATE writes (`written`), for its trust check.
 */
export function backfillDraft(name: string, summary: string, plan: BackfillPlan, context: object): StepDraft {
  const table = updatedTable(plan.updateSql);
  const written = { schema: table.schema, table: table.table, column: updatedColumns(plan.updateSql)[0] ?? '' };
  return {
    name,
    summary,
    transaction: false,
    action: 'backfill',
    backfill: plan,
    scan: true,
    template: 'backfill',
    context: { ...context, written },
  };
}

/** The batched verification (phase 2 before the switch, phase 3 before the contract): counts differing rows, records it. */
export function verifyDraft(summary: string, plan: BackfillPlan, context: object): StepDraft {
  return {
    name: 'verify',
    summary,
    transaction: false,
    action: 'verify',
    backfill: plan,
    scan: true,
    template: 'verify',
    context,
  };
}
