/**
 * Backfill of a partitioned table (issue 13): N rows in 24 range partitions plus a DEFAULT partition, beside the
 * same rows in one ordinary table, in the same database and run: rows/s of the backfill engine (one job) on each
 * and their ratio; beside it the floor of that ratio, the same two tables copied by one UPDATE each (what the
 * partitioning alone costs PostgreSQL); and the longest ACCESS EXCLUSIVE hold on the parent or any partition — of the expand step (ADD
 * COLUMN and the sync triggers on the parent, measured as bench/lock-footprint.ts does: a rolled-back probe finds
 * the statement that takes it, the measured run takes it with LOCK TABLE right before that statement and times the
 * grant to the end of COMMIT) and during the backfill (pg_locks sampled by another session every few ms).
 */
import pg from 'pg';
import { runBackfill } from '../src/backfill/engine.js';
import { readRenameFacts } from '../src/catalog/column-facts.js';
import { connect } from '../src/db/connect.js';
import { phaseSteps } from '../src/operations/index.js';
import type { BackfillPlan, Step } from '../src/operations/types.js';
import type { RenameChange } from '../src/spec/types.js';
import { splitStatements } from '../src/sql/split-statements.js';
import { fillAccounts } from './fixture.js';
import { checked, info, type BenchRow } from './report.js';
import { createBenchDatabase } from './server.js';
import { loopOnConnection } from './session-loop.js';
import { since } from './stats.js';

const PARTITIONS = 24;
const COLUMNS = `id bigint NOT NULL, job_title text, email text NOT NULL, n int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id)`;

interface Contender {
  table: string;
  backfillMs: number;
  /** Longest ACCESS EXCLUSIVE hold of the expand step on the table or any of its partitions (ms). */
  expandHoldMs: number;
  expandStatement?: string;
  /** The slowest statements while it was held. */
  expandSlowest?: string;
  /** Longest ACCESS EXCLUSIVE seen held by any session on the table or a partition while the backfill ran (ms). */
  backfillHoldMs: number;
  samples: number;
}

/** The rename job_title → favourite_color planned from an ordinary table of the shape (`plan` reads the catalog). */
async function plannedChange(url: string, table: string): Promise<RenameChange> {
  const connection = await connect(url, { max: 1, applicationName: 'phasectl-bench' });
  try {
    const target = { schema: 'public', table, column: 'job_title' };
    const { column, key } = await readRenameFacts(connection.db, target, 'favourite_color');
    return {
      kind: 'rename',
      id: `${table.replace(/_/g, '-')}-job-title`,
      rename: { schema: 'public', table, from: 'job_title', to: 'favourite_color' },
      column,
      key,
      releases: { phase1: '1.0.0' },
    };
  } finally {
    await connection.close();
  }
}

/** Creates `public.<table>` with `rows` rows: ordinary, or in 24 equal range partitions of the ids and a DEFAULT. */
async function createTable(client: pg.ClientBase, table: string, rows: number, partitioned: boolean): Promise<void> {
  if (!partitioned) {
    await client.query(`CREATE TABLE public.${table} (${COLUMNS})`);
  } else {
    const width = Math.floor(rows / (PARTITIONS + 1));
    const sql = [`CREATE TABLE public.${table} (${COLUMNS}) PARTITION BY RANGE (id)`];
    for (let i = 0; i < PARTITIONS; i++)
      sql.push(
        `CREATE TABLE public.${table}_p${String(i + 1).padStart(2, '0')} PARTITION OF public.${table} FOR VALUES FROM (${1 + i * width}) TO (${1 + (i + 1) * width})`,
      );
    sql.push(`CREATE TABLE public.${table}_default PARTITION OF public.${table} DEFAULT`);
    await client.query(sql.join(';\n'));
  }
  await fillAccounts(client, table, rows);
}

/** The relations of the table's tree (itself, and every partition at every level; pg_partition_tree lists nothing for an ordinary table). */
function treeSql(table: string): string {
  return `SELECT 'public.${table}'::regclass::oid AS relid UNION SELECT relid::oid FROM pg_catalog.pg_partition_tree('public.${table}'::regclass)`;
}

async function holdsExclusive(client: pg.ClientBase, table: string): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE pid = pg_backend_pid() AND granted AND mode = 'AccessExclusiveLock'
                      AND locktype = 'relation' AND relation IN (${treeSql(table)})) AS held`,
  );
  return rows[0]!.held;
}

/** Applies the expand step (one transaction) and returns its ACCESS EXCLUSIVE hold, as bench/lock-footprint.ts does. */
async function measuredExpand(
  client: pg.ClientBase,
  table: string,
  step: Step,
): Promise<{ holdMs: number; statement?: string; slowest?: string }> {
  const statements = splitStatements(step.sql);
  let exclusiveAt: number | undefined;
  await client.query('BEGIN');
  try {
    for (const [index, statement] of statements.entries()) {
      await client.query(statement);
      if (await holdsExclusive(client, table)) {
        exclusiveAt = index;
        break;
      }
    }
  } finally {
    await client.query('ROLLBACK');
  }
  let grantedAt: number | undefined;
  const held: Array<{ ms: number; statement: string }> = [];
  await client.query('BEGIN');
  try {
    for (const [index, statement] of statements.entries()) {
      if (index === exclusiveAt) {
        // LOCK TABLE on a partitioned table locks every partition too.
        await client.query(`LOCK TABLE public.${table} IN ACCESS EXCLUSIVE MODE`);
        grantedAt = performance.now();
      }
      const started = performance.now();
      await client.query(statement);
      if (grantedAt !== undefined) held.push({ ms: since(started), statement: firstLine(statement) ?? '' });
    }
    const started = performance.now();
    await client.query('COMMIT');
    held.push({ ms: since(started), statement: 'COMMIT' });
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await client.query('RESET lock_timeout; RESET statement_timeout');
  if (grantedAt === undefined || exclusiveAt === undefined) return { holdMs: 0 };
  const holdMs = since(grantedAt);
  const statement = firstLine(statements[exclusiveAt]!);
  const slowest = held
    .sort((a, b) => b.ms - a.ms)
    .slice(0, 3)
    .map((entry) => `${entry.ms.toFixed(1)} ms \`${entry.statement.slice(0, 50)}\``)
    .join(', ');
  return { holdMs, slowest, ...(statement ? { statement } : {}) };
}

function firstLine(statement: string): string | undefined {
  return statement
    .split('\n')
    .find((line) => line.trim() && !line.trim().startsWith('--'))
    ?.trim();
}

/**
 * Samples pg_locks from its own session every few ms until `stop()`: the longest time one (pid, relation) of the
 * tree was seen holding ACCESS EXCLUSIVE (from the first to the last sample that saw it).
 */
function exclusiveSampler(url: string, table: string): { stop: () => Promise<{ longestMs: number; samples: number }> } {
  let samples = 0;
  let longestMs = 0;
  const seen = new Map<string, number>();
  let tree: string[] | undefined;
  const loop = loopOnConnection(
    url,
    async (client) => {
      tree ??= (await client.query<{ relid: string }>(treeSql(table))).rows.map((row) => row.relid);
      const { rows } = await client.query<{ key: string }>(
        `SELECT pid::text || ':' || relation::text AS key FROM pg_catalog.pg_locks
          WHERE granted AND mode = 'AccessExclusiveLock' AND locktype = 'relation' AND relation = ANY($1::oid[])`,
        [tree],
      );
      samples += 1;
      const now = performance.now();
      for (const row of rows) {
        const first = seen.get(row.key) ?? now;
        seen.set(row.key, first);
        longestMs = Math.max(longestMs, now - first);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    },
    'phasectl-bench-lock-sampler',
  );
  return {
    async stop() {
      await loop.stop();
      return { longestMs, samples };
    },
  };
}

/**
 * Creates, expands and backfills one contender in the database at `url`. `copy: 'one update'` replaces phasectl's
 * backfill by one `UPDATE … SET favourite_color = job_title` over the whole table (the sync triggers in place): the
 * floor of the ratio, as fast as PostgreSQL itself rewrites the rows of this table shape.
 */
async function contender(
  url: string,
  table: string,
  rows: number,
  partitioned: boolean,
  copy: 'backfill' | 'one update' = 'backfill',
): Promise<Contender> {
  const client = new pg.Client({ connectionString: url, application_name: 'phasectl-bench' });
  await client.connect();
  try {
    // Planned on an ordinary table of the same shape (the facts are the same), then built as asked.
    await client.query(`CREATE TABLE public.${table} (${COLUMNS})`);
    const change = await plannedChange(url, table);
    await client.query(`DROP TABLE public.${table}`);
    await createTable(client, table, rows, partitioned);
    const steps = phaseSteps(change, 1).up;
    const expand = await measuredExpand(
      client,
      table,
      steps.find((step) => step.name === 'expand')!,
    );
    const plan: BackfillPlan | undefined = steps.find((step) => step.action === 'backfill')?.backfill;
    if (!plan) throw new Error('the generated phase 1 has no backfill step');
    await client.query('CHECKPOINT');
    const sampler = exclusiveSampler(url, table);
    const started = performance.now();
    try {
      if (copy === 'backfill') await runBackfill(client, plan);
      else await client.query(`UPDATE public.${table} SET favourite_color = job_title`);
    } catch (error) {
      await sampler.stop();
      throw error;
    }
    const backfillMs = since(started);
    const locks = await sampler.stop();
    return {
      table,
      backfillMs,
      expandHoldMs: expand.holdMs,
      ...(expand.statement ? { expandStatement: expand.statement } : {}),
      ...(expand.slowest ? { expandSlowest: expand.slowest } : {}),
      backfillHoldMs: locks.longestMs,
      samples: locks.samples,
    };
  } finally {
    await client.end();
  }
}

export async function benchPartitioned(serverUrl: string, rows: number): Promise<BenchRow[]> {
  const database = await createBenchDatabase(serverUrl, 'partitioned');
  let plain: Contender;
  let partitioned: Contender;
  let floorPlain: Contender;
  let floorPartitioned: Contender;
  try {
    // The same two tables copied by one UPDATE each: what the partitioning alone costs PostgreSQL. First, as they also
    // warm the server: the first run after start creates the WAL segments (GBs of zero-filled files) that later
    // runs recycle, a cost that fell on whichever contender ran first (checkpoint before each run).
    floorPartitioned = await contender(database.url, 'floor_partitioned', rows, true, 'one update');
    floorPlain = await contender(database.url, 'floor_plain', rows, false, 'one update');
    partitioned = await contender(database.url, 'events_partitioned', rows, true);
    plain = await contender(database.url, 'events_plain', rows, false);
  } finally {
    await database.drop();
  }
  const section = `7. partitioned table: ${rows.toLocaleString('en-US')} rows in ${PARTITIONS} range partitions + DEFAULT`;
  const perSecond = (run: Contender) => (rows * 1000) / run.backfillMs;
  const ratio = perSecond(partitioned) / perSecond(plain);
  const floorRatio = perSecond(floorPartitioned) / perSecond(floorPlain);
  const longest = Math.max(partitioned.expandHoldMs, partitioned.backfillHoldMs);
  return [
    checked(
      {
        section,
        metric: 'backfill, partitioned (each leaf on its own)',
        value: perSecond(partitioned),
        unit: 'rows/s',
        baseline: perSecond(plain),
        baselineLabel: 'same rows, one table',
        ratio,
        target: '≥ 0.90',
        note: `one job; ${(partitioned.backfillMs / 1000).toFixed(1)} s vs ${(plain.backfillMs / 1000).toFixed(1)} s; the floor below: ${floorRatio.toFixed(2)}`,
      },
      ratio >= 0.9,
    ),
    checked(
      {
        section,
        metric: 'longest ACCESS EXCLUSIVE on the parent or a partition',
        value: longest,
        unit: 'ms',
        target: '≤ 50 ms',
        note:
          `expand step ${partitioned.expandHoldMs.toFixed(1)} ms (taken right before \`${(partitioned.expandStatement ?? 'none').slice(0, 60)}\`, ` +
          `to the end of COMMIT; slowest: ${partitioned.expandSlowest ?? '–'}; the ordinary table: ${plain.expandHoldMs.toFixed(1)} ms); during the backfill ` +
          `${partitioned.backfillHoldMs.toFixed(1)} ms (${partitioned.samples} pg_locks samples)`,
      },
      longest <= 50,
    ),
    info({
      section,
      metric: 'floor: one UPDATE, partitioned vs one table',
      value: perSecond(floorPartitioned),
      unit: 'rows/s',
      baseline: perSecond(floorPlain),
      baselineLabel: 'one UPDATE, one table',
      ratio: floorRatio,
      note:
        `the same tables (sync triggers in place) copied by one UPDATE each: ${(floorPartitioned.backfillMs / 1000).toFixed(1)} s vs ` +
        `${(floorPlain.backfillMs / 1000).toFixed(1)} s; phasectl's backfill vs the UPDATE: partitioned ` +
        `${(floorPartitioned.backfillMs / partitioned.backfillMs).toFixed(2)}, one table ${(floorPlain.backfillMs / plain.backfillMs).toFixed(2)}`,
    }),
    info({
      section,
      metric: 'backfill, ordinary table',
      value: perSecond(plain),
      unit: 'rows/s',
      note: `ACCESS EXCLUSIVE during its backfill: ${plain.backfillHoldMs.toFixed(1)} ms`,
    }),
  ];
}
