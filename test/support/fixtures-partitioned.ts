import type pg from 'pg';
import type { BackfillPlan } from '../../src/operations/types.js';
import { quoteLiteral } from '../../src/render/quote.js';
import type { RenameChange } from '../../src/spec/types.js';
import { expandForBackfill } from './fixtures-backfill.js';
import { plannedRename } from './hardening-rename.js';

/**
 * A partitioned table `public.<table>` (job_title → favourite_color) in the middle of phase 1 of the product's own
 * rename: the change planned from an ordinary table of the same shape (until `plan` accepts partitioned tables),
 * then the partitioned table built in its place and the generated expand step applied to it (ADD COLUMN and the
 * sync triggers on the parent, cloned by PostgreSQL to every partition). `public.backfill_writes` gets one row per
 * row the backfill rewrites, naming the leaf (a row trigger on the parent fires on each leaf).
 *
 * - `range`: PARTITION BY RANGE (id), `partitions` partitions of `rows / (partitions + 1)` ids each, and a DEFAULT
 *   partition holding the rest; key (id).
 * - `two-level`: PARTITION BY LIST (region) ('eu', 'us', DEFAULT), 'eu' and 'us' each by RANGE (id) into two
 *   partitions and a DEFAULT; key (region, id).
 */
export async function createPartitionedRename(
  client: pg.ClientBase,
  url: string,
  options: { table: string; rows: number; layout: 'range' | 'two-level'; partitions?: number },
): Promise<{ change: RenameChange; plan: BackfillPlan; leaves: string[] }> {
  const t = `public.${options.table}`;
  const twoLevel = options.layout === 'two-level';
  const columns = twoLevel
    ? 'region text NOT NULL, id bigint NOT NULL, job_title text, other int DEFAULT 0, PRIMARY KEY (region, id)'
    : 'id bigint NOT NULL, job_title text, other int DEFAULT 0, PRIMARY KEY (id)';
  await client.query(`CREATE TABLE ${t} (${columns})`);
  const change = await plannedRename(
    url,
    { schema: 'public', table: options.table, column: 'job_title' },
    'favourite_color',
    `${options.table.replace(/_/g, '-')}-rename`,
  );
  await client.query(`DROP TABLE ${t}`);
  const leaves: string[] = [];
  const sql: string[] = [];
  if (twoLevel) {
    sql.push(`CREATE TABLE ${t} (${columns}) PARTITION BY LIST (region)`);
    const half = Math.floor(options.rows / 2);
    for (const region of ['eu', 'us']) {
      const mid = `${t}_${region}`;
      sql.push(`CREATE TABLE ${mid} PARTITION OF ${t} FOR VALUES IN ('${region}') PARTITION BY RANGE (id)`);
      sql.push(`CREATE TABLE ${mid}_1 PARTITION OF ${mid} FOR VALUES FROM (1) TO (${half + 1})`);
      sql.push(`CREATE TABLE ${mid}_default PARTITION OF ${mid} DEFAULT`);
      leaves.push(`${mid}_1`, `${mid}_default`);
    }
    sql.push(`CREATE TABLE ${t}_other PARTITION OF ${t} DEFAULT`);
    leaves.push(`${t}_other`);
    sql.push(
      `INSERT INTO ${t} (region, id, job_title) SELECT (ARRAY['eu', 'us', 'apac'])[1 + g % 3], g, 'title ' || g FROM generate_series(1, ${options.rows}) g`,
    );
  } else {
    const count = options.partitions ?? 4;
    const width = Math.floor(options.rows / (count + 1));
    sql.push(`CREATE TABLE ${t} (${columns}) PARTITION BY RANGE (id)`);
    for (let i = 0; i < count; i++) {
      const leaf = `${t}_p${String(i + 1).padStart(2, '0')}`;
      sql.push(`CREATE TABLE ${leaf} PARTITION OF ${t} FOR VALUES FROM (${1 + i * width}) TO (${1 + (i + 1) * width})`);
      leaves.push(leaf);
    }
    sql.push(`CREATE TABLE ${t}_default PARTITION OF ${t} DEFAULT`);
    leaves.push(`${t}_default`);
    sql.push(`INSERT INTO ${t} (id, job_title) SELECT g, 'title ' || g FROM generate_series(1, ${options.rows}) g`);
  }
  await client.query(sql.join(';\n'));
  const plan = await expandForBackfill(client, change);
  await client.query(`
    CREATE TABLE IF NOT EXISTS public.backfill_writes (leaf text NOT NULL);
    CREATE OR REPLACE FUNCTION public.count_backfill_writes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF coalesce(current_setting(${quoteLiteral(plan.suppressSetting)}, true), '') = 'on' THEN
        INSERT INTO public.backfill_writes VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER count_backfill_writes AFTER UPDATE ON ${t} FOR EACH ROW EXECUTE FUNCTION public.count_backfill_writes();
    ANALYZE ${t};`);
  return { change, plan, leaves };
}

/** Rows the backfill rewrote, per leaf (`schema.table`). */
export async function writesPerLeaf(client: pg.ClientBase): Promise<Record<string, number>> {
  const { rows } = await client.query<{ leaf: string; n: number }>(
    'SELECT leaf, count(*)::int AS n FROM public.backfill_writes GROUP BY leaf ORDER BY leaf',
  );
  return Object.fromEntries(rows.map((row) => [row.leaf, row.n]));
}

/**
 * Application writes until `stop()`: old code updating job_title, old code inserting, new code inserting both
 * columns with different values (the new one must win), new code updating favourite_color. Any failed write
 * fails the test (stop() rethrows it).
 */
export function startWriters(
  writer: pg.ClientBase,
  table: string,
  rows: number,
  twoLevel: boolean,
): { stop: () => Promise<number> } {
  let stopping = false;
  let writes = 0;
  const region = (id: number) => (['eu', 'us', 'apac'] as const)[id % 3]!;
  const loop = (async () => {
    let next = rows + 1_000;
    while (!stopping) {
      const id = 1 + Math.floor(Math.random() * rows);
      const where = twoLevel ? `region = '${region(id)}' AND id = $1` : 'id = $1';
      await writer.query(`UPDATE public.${table} SET job_title = $2 WHERE ${where}`, [id, `changed ${writes}`]);
      const columns = twoLevel ? `region, id` : 'id';
      const values = (n: number) => (twoLevel ? `'${region(n)}', ${n}` : `${n}`);
      await writer.query(`INSERT INTO public.${table} (${columns}, job_title) VALUES (${values(next)}, $1)`, [
        `new ${next}`,
      ]);
      await writer.query(
        `INSERT INTO public.${table} (${columns}, job_title, favourite_color) VALUES (${values(next + 500_000)}, 'old default', $1)`,
        [`both ${next}`],
      );
      next += 1;
      const other = 1 + Math.floor(Math.random() * rows);
      await writer.query(
        `UPDATE public.${table} SET favourite_color = $2 WHERE ${twoLevel ? `region = '${region(other)}' AND id = $1` : 'id = $1'}`,
        [other, `from new code ${writes}`],
      );
      writes += 4;
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      return writes;
    },
  };
}
