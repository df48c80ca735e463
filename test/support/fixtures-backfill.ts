import type pg from 'pg';
import { phaseSteps } from '../../src/operations/index.js';
import type { BackfillPlan } from '../../src/operations/types.js';
import { quoteLiteral } from '../../src/render/quote.js';
import type { RenameChange } from '../../src/spec/types.js';
import { applyStep } from './apply-sql.js';
import { plannedRename } from './hardening-rename.js';

/**
 * A hand-written BackfillPlan over `public.<table>` (job_title → favourite_color, closed ranges, keys as text), for
 * engine tests on tables a test builds itself (sparse or text keys, a failing expression). Tests of the sync use
 * createGeneratedRename: the product's own function, trigger and plan.
 */
export function renamePlan(table: string, options: { composite?: boolean; changeId?: string } = {}): BackfillPlan {
  const keyColumns = options.composite ? ['tenant', 'id'] : ['id'];
  const keyTypes = options.composite ? ['integer', 'integer'] : ['bigint'];
  const k = keyColumns.length;
  const tuple = `(${keyColumns.map((c) => `t.${c}`).join(', ')})`;
  const lo = `(${keyTypes.map((type, i) => `$${i + 1}::${type}`).join(', ')})`;
  const hi = `(${keyTypes.map((type, i) => `$${k + i + 1}::${type}`).join(', ')})`;
  const range = `${tuple} >= ${lo} AND ${tuple} <= ${hi}`;
  return {
    changeId: options.changeId ?? `${table.replace(/_/g, '-')}-rename`,
    direction: 'up',
    table: { schema: 'public', table },
    keyColumns,
    keyTypes,
    updateSql: `UPDATE public.${table} AS t SET favourite_color = t.job_title WHERE ${range} AND t.favourite_color IS DISTINCT FROM t.job_title`,
    countDifferentSql: `SELECT count(*)::bigint AS differing FROM public.${table} AS t WHERE ${range} AND t.favourite_color IS DISTINCT FROM t.job_title`,
    suppressSetting: 'phasectl.backfill',
  };
}

/** Total rows the backfill rewrote (from the counter trigger). */
export async function backfillWrites(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ n: string }>('SELECT coalesce(sum(n), 0) AS n FROM public.backfill_writes');
  return Number(rows[0]?.n);
}

/** Rows where the two columns differ, counted directly. */
export async function differingRows(client: pg.ClientBase, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM public.${table} WHERE favourite_color IS DISTINCT FROM job_title`,
  );
  return Number(rows[0]?.n);
}

/** Applies phase 1's generated expand step of `change` (sync function and trigger) and returns its backfill plan. */
export async function expandForBackfill(client: pg.ClientBase, change: RenameChange): Promise<BackfillPlan> {
  const steps = phaseSteps(change, 1).up;
  await applyStep(
    client,
    steps.find((step) => step.name === 'expand')!,
  );
  const plan = steps.find((step) => step.action === 'backfill')?.backfill;
  if (!plan) throw new Error('the generated phase 1 has no backfill step');
  return plan;
}

/**
 * A table `public.<table>` (key, job_title, other) in the middle of phase 1 of the product's own rename: the rename `job_title → favourite_color` planned from the
 * catalog (as `phasectl plan` does), its generated expand step applied (sync function and trigger), the generated
 * backfill plan returned, and the counter of rows the backfill rewrote. Change id: `<table with - for _>-rename`.
 */
export async function createGeneratedRename(
  client: pg.ClientBase,
  url: string,
  options: { table: string; rows: number; alreadySynced?: number; composite?: boolean },
): Promise<{ change: RenameChange; plan: BackfillPlan }> {
  const t = `public.${options.table}`;
  const key = options.composite
    ? 'tenant int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant, id)'
    : 'id bigint PRIMARY KEY';
  const keyValues = options.composite ? 'g % 7, g' : 'g';
  await client.query(`
    CREATE TABLE ${t} (${key}, job_title text, other int DEFAULT 0);
    INSERT INTO ${t} SELECT ${keyValues}, 'title ' || g FROM generate_series(1, ${options.rows}) g;`);
  const change = await plannedRename(
    url,
    { schema: 'public', table: options.table, column: 'job_title' },
    'favourite_color',
    `${options.table.replace(/_/g, '-')}-rename`,
  );
  const plan = await expandForBackfill(client, change);
  if (options.alreadySynced)
    await client.query(`UPDATE ${t} SET favourite_color = job_title WHERE id <= ${options.alreadySynced}`);
  await client.query(`
    CREATE TABLE IF NOT EXISTS public.backfill_writes (n bigint NOT NULL);
    CREATE OR REPLACE FUNCTION public.count_backfill_writes() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF coalesce(current_setting(${quoteLiteral(plan.suppressSetting)}, true), '') = 'on' THEN
        INSERT INTO public.backfill_writes SELECT count(*) FROM changed;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER count_backfill_writes AFTER UPDATE ON ${t} REFERENCING NEW TABLE AS changed
      FOR EACH STATEMENT EXECUTE FUNCTION public.count_backfill_writes();
    ANALYZE ${t};`);
  return { change, plan };
}
