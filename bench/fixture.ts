import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { advance } from '../src/commands/advance.js';
import { initialPhasesText } from '../src/commands/init.js';
import { planRename } from '../src/commands/plan.js';
import { withClient } from './server.js';

/** The benchmark table: bigint key, the column to rename (text NOT NULL), and a few other columns. */
export const TABLE = 'accounts';
export const CHANGE_ID = 'accounts-job-title';
/** The trigger phase 1 installs (docs/internals.md, "Names phasectl creates"). */
export const TRIGGER = `zz_phasectl_sync_${CHANGE_ID.replace(/-/g, '_')}`;

/**
 * Creates `public.accounts` with `rows` rows, then VACUUM ANALYZE (hint bits set, statistics fresh) and
 * CHECKPOINT, so every contender starts from the same clean, flushed table.
 */
export async function createAccounts(client: pg.ClientBase, rows: number): Promise<void> {
  await client.query(`
    CREATE TABLE public.${TABLE} (
      id bigint PRIMARY KEY,
      job_title text NOT NULL,
      email text NOT NULL,
      n int NOT NULL DEFAULT 0,
      created_at timestamptz NOT NULL DEFAULT now())`);
  await fillAccounts(client, TABLE, rows);
  await client.query('CHECKPOINT');
}

/** Inserts `rows` rows of the benchmark's shape into `public.<table>` (ids 1…rows), then VACUUM ANALYZE. */
export async function fillAccounts(client: pg.ClientBase, table: string, rows: number): Promise<void> {
  await client.query(`
    INSERT INTO public.${table} (id, job_title, email, n)
    SELECT g, 'title ' || (g % 5000), 'user' || g || '@example.com', g % 100 FROM generate_series(1, ${rows}) AS g`);
  await client.query(`VACUUM ANALYZE public.${table}`);
}

/** A project whose phases.yaml renames accounts.job_title → favourite_color in releases 1.0.0, 1.1.0, 1.2.0. */
export async function renameProject(url: string): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-bench-'));
  await mkdir(join(dir, 'db', 'migrations'), { recursive: true });
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText());
  await planRename({
    projectDir: dir,
    target: `public.${TABLE}.job_title`,
    newName: 'favourite_color',
    id: CHANGE_ID,
    databaseUrl: url,
  });
  for (const release of ['1.0.0', '1.1.0', '1.2.0']) await advance({ projectDir: dir, release });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** pg_total_relation_size of the table (heap + TOAST + indexes), in bytes. */
export async function tableBytes(url: string): Promise<number> {
  return await withClient(url, async (client) => {
    const { rows } = await client.query<{ bytes: string }>(`SELECT pg_total_relation_size('public.${TABLE}') AS bytes`);
    return Number(rows[0]!.bytes);
  });
}
