import type pg from 'pg';
import type { BackfillPlan } from '../operations/types.js';
import { qualify } from '../render/quote.js';
import type { TableName } from '../spec/types.js';
import { retargetRelation } from '../sql/relation-rewrite.js';
import { leafMemberSql } from './batch-statements.js';
import { keysetQueries, type KeysetQueries } from './keyset.js';
import { cutKeySpace } from './parallel.js';

/**
 * A partitioned table is backfilled and verified leaf by leaf: each leaf partition is walked on its own key index
 * with the plan's statements pointed at it (`UPDATE leaf … WHERE <key range>`), never through the parent, so a batch
 * touches one partition and no plan has to look at every partition. The leaves are read at run time (pg_partition_tree:
 * every level, leaves only, the default partition included), so a partition created or attached since `plan` is walked.
 */

/** Whether `table` is a partitioned table (relkind 'p'). */
export async function isPartitioned(session: pg.ClientBase, table: TableName): Promise<boolean> {
  const { rows } = await session.query<{ partitioned: boolean }>(
    `SELECT c.relkind OPERATOR(pg_catalog.=) 'p' AS partitioned FROM pg_catalog.pg_class AS c
      WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)`,
    [qualify(table.schema, table.table)],
  );
  return rows[0]?.partitioned ?? false;
}

/**
 * The leaf partitions of `table` now, at every level (a sub-partitioned partition is not a leaf; its leaves are), in
 * byte order of schema and name. Foreign-table partitions are left out: phasectl does not write through them.
 */
export async function leafPartitions(session: pg.ClientBase, table: TableName): Promise<TableName[]> {
  const { rows } = await session.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass($1)) AS tree
       JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) tree.relid
       JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      WHERE tree.isleaf AND c.relkind OPERATOR(pg_catalog.=) 'r'
      ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
    [qualify(table.schema, table.table)],
  );
  return rows.map((row) => ({ schema: row.schema, table: row.table }));
}

/**
 * The tables above `leaf`, root first (empty once it is no longer a partition). A batch on the leaf locks them first
 * (engine.ts): writing a leaf checks each row against the leaf's bounds, and building that check locks the parent
 * after the leaf — the reverse of `CREATE TABLE … PARTITION OF` or `ATTACH PARTITION`, which lock the parent, then
 * scan the DEFAULT partition. A monthly job's partition could then deadlock with the backfill.
 */
export async function leafAncestors(session: pg.ClientBase, leaf: TableName): Promise<TableName[]> {
  const { rows } = await session.query<{ schema: string; table: string }>(
    `SELECT n.nspname AS schema, c.relname AS table
       FROM pg_catalog.pg_partition_ancestors(pg_catalog.to_regclass($1)) WITH ORDINALITY AS a(relid, level)
       JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) a.relid
       JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      WHERE a.level OPERATOR(pg_catalog.>) 1
      ORDER BY a.level DESC`,
    [qualify(leaf.schema, leaf.table)],
  );
  return rows.map((row) => ({ schema: row.schema, table: row.table }));
}

/** Whether `leaf` still exists and is a partition (at any level) of `parent`: false once it is detached or dropped. */
export async function isPartitionOf(session: pg.ClientBase, parent: TableName, leaf: TableName): Promise<boolean> {
  const { rows } = await session.query<{ member: boolean }>(`SELECT ${leafMemberSql(parent, leaf)} AS member`);
  return rows[0]?.member ?? false;
}

/** The plan and keyset queries of one leaf: the parent's statements with the parent replaced by the leaf. */
export interface LeafWalk {
  plan: BackfillPlan;
  queries: KeysetQueries;
}

const leafWalks = new WeakMap<BackfillPlan, Map<string, LeafWalk>>();

/** The walk of `leaf` for `plan` (parsed once per plan and leaf). Pure, apart from the cache. */
export function leafWalk(plan: BackfillPlan, leaf: TableName): LeafWalk {
  let byLeaf = leafWalks.get(plan);
  if (!byLeaf) leafWalks.set(plan, (byLeaf = new Map()));
  const name = leafKey(leaf);
  let walk = byLeaf.get(name);
  if (!walk) {
    const onLeaf = (sql: string) => retargetRelation(sql, plan.table, leaf);
    const leafPlan: BackfillPlan = {
      ...plan,
      table: { schema: leaf.schema, table: leaf.table },
      updateSql: onLeaf(plan.updateSql),
      countDifferentSql: onLeaf(plan.countDifferentSql),
      ...(plan.auditSql ? { auditSql: onLeaf(plan.auditSql) } : {}),
    };
    walk = { plan: leafPlan, queries: keysetQueries(leafPlan) };
    byLeaf.set(name, walk);
  }
  return walk;
}

/** The planner's row estimate of each leaf (a count, capped, for a leaf never analyzed), one query after the other. */
export async function leafEstimates(
  session: pg.ClientBase,
  plan: BackfillPlan,
  leaves: TableName[],
): Promise<number[]> {
  const estimates: number[] = [];
  for (const leaf of leaves) {
    const { queries } = leafWalk(plan, leaf);
    estimates.push(Number((await session.query<{ estimate: string }>(queries.estimate)).rows[0]?.estimate ?? 0));
  }
  return estimates;
}

/**
 * Into how many key ranges a leaf of `estimate` rows is cut when `jobs` workers share the table, `share` rows each:
 * one, unless it holds at least two shares (then that many, at most one per job), so that a few huge leaves still
 * keep every job busy. Pure.
 */
export function piecesOf(estimate: number, share: number, jobs: number): number {
  return jobs > 1 && share > 0 ? Math.min(jobs, Math.max(1, Math.floor(estimate / share))) : 1;
}

/**
 * The key spans `(after, upper]` of one leaf now: one from its first to its highest key, or `pieces` cut from its
 * keys; none when it is empty (its later rows are written through the sync trigger).
 */
export async function leafSpans(
  session: pg.ClientBase,
  plan: BackfillPlan,
  leaf: TableName,
  pieces: number,
): Promise<Array<{ after: string[] | null; upper: string[] }>> {
  const { plan: leafPlan, queries } = leafWalk(plan, leaf);
  const upper = (await session.query<{ key: string[] }>(queries.maxKey)).rows[0]?.key;
  if (!upper) return [];
  const cut = pieces > 1 ? await cutKeySpace(session, leafPlan, queries, null, upper, pieces) : [];
  return cut.length > 1 ? cut.map((range) => ({ after: range.after, upper: range.upper })) : [{ after: null, upper }];
}

/** A leaf as a key of a Set or Map (schema and table, unambiguous whatever characters they hold). */
export function leafKey(leaf: TableName): string {
  return JSON.stringify([leaf.schema, leaf.table]);
}

/** A leaf as people read it and as events and `status` name it: `schema.table`. */
export function partitionName(leaf: TableName): string {
  return `${leaf.schema}.${leaf.table}`;
}
