/**
 * What the sync trigger costs the application's writes: the same single-row statements from 2 clients on
 * the same table in three variants, in rotation, medians of the transaction rates:
 * - no trigger at all (dropped: a disabled trigger still costs an UPDATE the row lock of a BEFORE trigger);
 * - phasectl's sync trigger, exactly as generated;
 * - the floor: the cheapest trigger that could keep the columns in sync for these statements, a BEFORE ROW
 *   plpgsql trigger whose whole body is `NEW.new := NEW.old; RETURN NEW` — what any row-trigger sync pays.
 * pgbench when installed, else a Node load loop.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { notNullCheckName, syncTriggerNames } from '../src/operations/naming.js';
import { backendCpuReader } from './backend-cpu.js';
import { migrate } from '../src/commands/migrate.js';
import { CHANGE_ID, TABLE, TRIGGER, createAccounts, renameProject } from './fixture.js';
import { checked, info, type BenchRow } from './report.js';
import { createBenchDatabase, withClient } from './server.js';
import { median } from './stats.js';

const run = promisify(execFile);
const CLIENTS = 2;
/** Rows of the set-based measurement of each write path (capped at the table's rows). */
const BULK_ROWS = 100_000;
/** Rounds of the set-based measurement (each run takes about a second). */
const BULK_ROUNDS = 7;

interface Workload {
  name: string;
  target: number;
  /** pgbench script (`:id`, `:v` set by \set lines). */
  script: string;
  /** The same statement for the Node fallback. */
  statement: (rows: number) => { text: string; values: unknown[] };
  /** Also measured with durable client commits (synchronous_commit=on), reported as INFO. */
  alsoDurable?: boolean;
  /** The floor's one assignment for this write (default: the old column copied into the new one). */
  floorCopy?: string;
  /** The same write as one set-based statement over `n` rows (run in a transaction that is rolled back). */
  bulk: (n: number) => string;
  /**
   * The sync function in place: 1 (phase 1, the old column the authority) by default; 2 for the writes of the new
   * release, which it makes from phase 2 on (the function then tests the new column first).
   */
  syncFunction?: 1 | 2;
}

/** Which trigger the table has during a run (see the file comment). */
type Variant = 'none' | 'phasectl' | 'floor';

/** The floor's trigger: the least a row trigger can do to copy one column into the other (`copy`). */
const floorSql = (copy = 'NEW.favourite_color := NEW.job_title') => `
CREATE OR REPLACE FUNCTION public.bench_copy_floor() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN ${copy}; RETURN NEW; END $$;
CREATE TRIGGER ${TRIGGER} BEFORE INSERT OR UPDATE OF job_title, favourite_color ON public.${TABLE}
  FOR EACH ROW EXECUTE FUNCTION public.bench_copy_floor();`;

/** Every trigger phase 1 puts on the table (updates, inserts): all are dropped between variants. */
const PHASECTL_TRIGGERS = Object.values(syncTriggerNames(CHANGE_ID, undefined));

/** The clients' synchronous_commit: off isolates the trigger's CPU cost, on is what most production commits pay. */
type SynchronousCommit = 'off' | 'on';

function workloads(rows: number): Workload[] {
  const random = (n: number) => 1 + Math.floor(Math.random() * n);
  return [
    {
      name: 'UPDATE of the renamed column',
      target: 0.95,
      script: `\\set id random(1, ${rows})\n\\set v random(1, 1000000)\nUPDATE public.${TABLE} SET job_title = 'title ' || :v WHERE id = :id;\n`,
      bulk: (n) => `UPDATE public.${TABLE} SET job_title = job_title || '.' WHERE id <= ${n}`,
      statement: () => ({
        text: `UPDATE public.${TABLE} SET job_title = 'title ' || $2 WHERE id = $1`,
        values: [random(rows), random(1_000_000)],
      }),
    },
    {
      name: 'UPDATE of an unrelated column',
      target: 0.98,
      script: `\\set id random(1, ${rows})\n\\set v random(1, 1000000)\nUPDATE public.${TABLE} SET n = :v WHERE id = :id;\n`,
      bulk: (n) => `UPDATE public.${TABLE} SET n = n + 1 WHERE id <= ${n}`,
      statement: () => ({
        text: `UPDATE public.${TABLE} SET n = $2 WHERE id = $1`,
        values: [random(rows), random(1_000_000)],
      }),
    },
    {
      name: 'UPDATE of the new column',
      target: 0.95,
      syncFunction: 2,
      floorCopy: 'NEW.job_title := NEW.favourite_color',
      script: `\\set id random(1, ${rows})\n\\set v random(1, 1000000)\nUPDATE public.${TABLE} SET favourite_color = 'colour ' || :v WHERE id = :id;\n`,
      bulk: (n) => `UPDATE public.${TABLE} SET favourite_color = favourite_color || '.' WHERE id <= ${n}`,
      statement: () => ({
        text: `UPDATE public.${TABLE} SET favourite_color = 'colour ' || $2 WHERE id = $1`,
        values: [random(rows), random(1_000_000)],
      }),
    },
    {
      name: 'INSERT (new release: new column; the old one takes its DEFAULT)',
      target: 0.95,
      syncFunction: 2,
      floorCopy: 'NEW.job_title := NEW.favourite_color',
      bulk: (n) =>
        `INSERT INTO public.${TABLE} (id, favourite_color, email) SELECT -g, 'colour ' || g, 'bulk' || g FROM generate_series(1, ${n}) AS g`,
      script: `\\set v random(1, 1000000)\nINSERT INTO public.${TABLE} (id, favourite_color, email) VALUES (nextval('public.bench_ids'), 'colour ' || :v, 'new' || :v || '@example.com');\n`,
      statement: () => {
        const v = random(1_000_000);
        return {
          text: `INSERT INTO public.${TABLE} (id, favourite_color, email) VALUES (nextval('public.bench_ids'), 'colour ' || $1, 'new' || $1 || '@example.com')`,
          values: [v],
        };
      },
    },
    {
      name: 'INSERT (old release: old column only)',
      target: 0.95,
      alsoDurable: true,
      bulk: (n) =>
        `INSERT INTO public.${TABLE} (id, job_title, email) SELECT -g, 'title ' || g, 'bulk' || g FROM generate_series(1, ${n}) AS g`,
      script: `\\set v random(1, 1000000)\nINSERT INTO public.${TABLE} (id, job_title, email) VALUES (nextval('public.bench_ids'), 'title ' || :v, 'new' || :v || '@example.com');\n`,
      statement: () => {
        const v = random(1_000_000);
        return {
          text: `INSERT INTO public.${TABLE} (id, job_title, email) VALUES (nextval('public.bench_ids'), 'title ' || $1, 'new' || $1 || '@example.com')`,
          values: [v],
        };
      },
    },
  ];
}

/** Whether pgbench can be run (its path, or undefined). */
export async function findPgbench(): Promise<string | undefined> {
  for (const candidate of [process.env.PGBENCH, 'pgbench', '/usr/bin/pgbench'].filter(Boolean) as string[]) {
    try {
      await run(candidate, ['--version']);
      return candidate;
    } catch {
      // try the next one
    }
  }
  return undefined;
}

/** libpq environment for a postgres:// URL (pgbench reads PGHOST … PGPASSWORD; nothing is printed). */
function libpqEnvironment(url: string, synchronousCommit: SynchronousCommit): NodeJS.ProcessEnv {
  const parsed = new URL(url);
  return {
    ...process.env,
    PGHOST: parsed.hostname,
    PGPORT: parsed.port || '5432',
    PGUSER: decodeURIComponent(parsed.username),
    PGPASSWORD: decodeURIComponent(parsed.password),
    PGDATABASE: decodeURIComponent(parsed.pathname.slice(1)),
    // off: the trigger's CPU cost is what is measured, not hidden behind a WAL flush per commit.
    PGOPTIONS: `-c synchronous_commit=${synchronousCommit}`,
  };
}

async function pgbenchTps(
  pgbench: string,
  url: string,
  scriptFile: string,
  seconds: number,
  synchronousCommit: SynchronousCommit,
): Promise<number> {
  const { stdout } = await run(
    pgbench,
    ['-n', '-c', String(CLIENTS), '-j', String(CLIENTS), '-T', String(seconds), '-f', scriptFile],
    { env: libpqEnvironment(url, synchronousCommit) },
  );
  const match = /tps = ([\d.]+)/.exec(stdout);
  if (!match) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Number(match[1]);
}

async function nodeTps(
  url: string,
  workload: Workload,
  rows: number,
  seconds: number,
  synchronousCommit: SynchronousCommit,
): Promise<number> {
  const clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const client = new pg.Client({ connectionString: url, options: `-c synchronous_commit=${synchronousCommit}` });
      await client.connect();
      return client;
    }),
  );
  try {
    const deadline = performance.now() + seconds * 1000;
    const counts = await Promise.all(
      clients.map(async (client) => {
        let done = 0;
        while (performance.now() < deadline) {
          const { text, values } = workload.statement(rows);
          await client.query(text, values);
          done += 1;
        }
        return done;
      }),
    );
    return counts.reduce((a, b) => a + b, 0) / seconds;
  } finally {
    await Promise.all(clients.map((client) => client.end()));
  }
}

/** Section 2 rows: per workload, median tps with and without the trigger, ratio with/without. */
export async function benchWriteOverhead(
  serverUrl: string,
  options: { rows: number; seconds: number; rounds: number; durableInserts: boolean },
): Promise<{ rows: BenchRow[]; tool: string }> {
  const database = await createBenchDatabase(serverUrl, 'writes');
  const project = await withClient(database.url, (client) => createAccounts(client, options.rows)).then(() =>
    renameProject(database.url),
  );
  const scripts = await mkdtemp(join(tmpdir(), 'phasectl-bench-pgbench-'));
  try {
    await migrate({ databaseUrl: database.url, projectDir: project.dir, toRelease: '1.0.0' });
    await withClient(database.url, async (client) => {
      await client.query(`CREATE SEQUENCE public.bench_ids START ${options.rows + 1}`);
      // Without the trigger an old-release insert leaves the new column NULL, which the NOT NULL check refuses:
      // drop the check, in both variants alike, so only the trigger differs.
      await client.query(`ALTER TABLE public.${TABLE} DROP CONSTRAINT ${notNullCheckName(TABLE, 'favourite_color')}`);
      // The old column's DEFAULT, which fills it on a new-release insert that omits it (README, sync rules).
      await client.query(`ALTER TABLE public.${TABLE} ALTER COLUMN job_title SET DEFAULT 'unknown'`);
      await client.query(`VACUUM ANALYZE public.${TABLE}`);
    });
    // The trigger exactly as generated (db/triggers holds the same text the migration ran).
    const triggerSql = await readFile(join(project.dir, 'db', 'triggers', `${CHANGE_ID}.sql`), 'utf8');
    const functionSql = (version: 1 | 2) =>
      readFile(join(project.dir, 'db', 'functions', `${CHANGE_ID}_v0${version}.sql`), 'utf8');
    const pgbench = await findPgbench();
    const tool = pgbench
      ? `pgbench (${pgbench}, -n -c ${CLIENTS} -j ${CLIENTS} -T ${options.seconds})`
      : `Node load loop (pg, ${CLIENTS} clients, ${options.seconds} s; pgbench not found)`;
    const out: BenchRow[] = [];
    const section = `2. write overhead of the sync trigger (${CLIENTS} clients, single-row statements, synchronous_commit=off for the clients)`;
    for (const workload of workloads(options.rows)) {
      // As phase 1, then (for phase 2's function) as the switch: its file also swaps the update triggers' columns.
      const phasectlTrigger = `${await functionSql(1)}\n${triggerSql}${workload.syncFunction === 2 ? `\n${await functionSql(2)}` : ''}`;
      const scriptFile = join(scripts, `${workload.name.replace(/\W+/g, '-')}.sql`);
      await writeFile(scriptFile, workload.script);
      const measure = async (variant: Variant, synchronousCommit: SynchronousCommit): Promise<number> => {
        await withClient(database.url, async (client) => {
          for (const name of PHASECTL_TRIGGERS)
            await client.query(`DROP TRIGGER IF EXISTS "${name}" ON public.${TABLE}`);
          if (variant === 'phasectl') await client.query(phasectlTrigger);
          if (variant === 'floor') await client.query(floorSql(workload.floorCopy));
          // Every run starts right after a checkpoint: each pays the same full-page writes.
          await client.query('CHECKPOINT');
        });
        return pgbench
          ? await pgbenchTps(pgbench, database.url, scriptFile, options.seconds, synchronousCommit)
          : await nodeTps(database.url, workload, options.rows, options.seconds, synchronousCommit);
      };
      /**
       * Rounds of the three variants (order rotated each round), after one uncounted warm-up run (caches,
       * plans). Ratios are taken within a round, between runs seconds apart, then the median over rounds:
       * this VM's throughput drifts by ±30 % over minutes, far more than between neighbouring runs.
       */
      const rounds = async (synchronousCommit: SynchronousCommit): Promise<Record<Variant, number[]>> => {
        const tps: Record<Variant, number[]> = { none: [], phasectl: [], floor: [] };
        const order: Variant[] = ['none', 'phasectl', 'floor'];
        await measure('none', synchronousCommit);
        for (let round = 0; round < options.rounds; round += 1) {
          for (let i = 0; i < order.length; i += 1) {
            const variant = order[(i + round) % order.length]!;
            tps[variant].push(await measure(variant, synchronousCommit));
          }
        }
        return tps;
      };
      const ratioOf = (tps: Record<Variant, number[]>, top: Variant, bottom: Variant) =>
        median(tps[top].map((value, round) => value / tps[bottom][round]!));
      const runs = (tps: Record<Variant, number[]>) =>
        `runs phasectl / none / floor: ${tps.phasectl.map(Math.round).join(', ')} / ${tps.none.map(Math.round).join(', ')} / ${tps.floor.map(Math.round).join(', ')} tps`;
      /**
       * The trigger's own cost per row, without the clients, the network and the commit: the workload as one
       * set-based statement over BULK_ROWS rows, timed by the backend's CPU time (bench/backend-cpu.ts; wall time
       * when the server is elsewhere), rolled back, the table vacuumed (untimed) so every run meets the same table;
       * BULK_ROUNDS rounds of the three variants in rotated order, median of per-round ratios.
       */
      const bulkRounds = async (): Promise<{ ms: Record<Variant, number[]>; cpu: boolean }> => {
        const ms: Record<Variant, number[]> = { none: [], phasectl: [], floor: [] };
        const order: Variant[] = ['none', 'phasectl', 'floor'];
        const n = Math.min(BULK_ROWS, options.rows);
        let cpu = false;
        await withClient(database.url, async (client) => {
          // The backend's CPU time when the server runs here (robust to the VM's noise), else wall time.
          const cpuMs = await backendCpuReader(client);
          cpu = cpuMs !== undefined;
          const clock = cpuMs ?? (async () => performance.now());
          const once = async (variant: Variant): Promise<number> => {
            for (const name of PHASECTL_TRIGGERS)
              await client.query(`DROP TRIGGER IF EXISTS "${name}" ON public.${TABLE}`);
            if (variant === 'phasectl') await client.query(phasectlTrigger);
            if (variant === 'floor') await client.query(floorSql(workload.floorCopy));
            await client.query(`VACUUM public.${TABLE}`);
            await client.query('BEGIN');
            const started = await clock();
            await client.query(workload.bulk(n));
            const elapsed = (await clock()) - started;
            await client.query('ROLLBACK');
            return elapsed;
          };
          await once('phasectl');
          for (let round = 0; round < Math.max(options.rounds, BULK_ROUNDS); round += 1)
            for (let i = 0; i < order.length; i += 1) {
              const variant = order[(i + round) % order.length]!;
              ms[variant].push(await once(variant));
            }
        });
        return { ms, cpu };
      };
      const { ms: bulk, cpu: bulkCpu } = await bulkRounds();
      // Time ratios inverted, so that 1.00 means as fast and < 1 slower, like the tps ratios.
      const bulkRatio = (top: Variant, bottom: Variant) =>
        median(bulk[top].map((value, round) => bulk[bottom][round]! / value));
      const bulkRuns = `${bulkCpu ? 'backend CPU time' : 'wall time'}, runs phasectl / none / floor: ${bulk.phasectl.map(Math.round).join(', ')} / ${bulk.none.map(Math.round).join(', ')} / ${bulk.floor.map(Math.round).join(', ')} ms`;
      const tps = await rounds('off');
      const ratio = ratioOf(tps, 'phasectl', 'none');
      out.push(
        checked(
          {
            section,
            metric: workload.name,
            value: median(tps.phasectl),
            unit: 'tps',
            baseline: median(tps.none),
            baselineLabel: 'no trigger',
            ratio,
            target: `≥ ${workload.target.toFixed(2)}`,
            note: `ratio: median over rounds of phasectl / no trigger; ${runs(tps)}`,
          },
          ratio >= workload.target,
        ),
        info({
          section,
          metric: `    … vs the cheapest copy trigger`,
          value: median(tps.phasectl),
          unit: 'tps',
          baseline: median(tps.floor),
          baselineLabel: 'floor',
          ratio: ratioOf(tps, 'phasectl', 'floor'),
          note: `the floor (\`${workload.floorCopy ?? 'NEW.favourite_color := NEW.job_title'}\`, nothing else) runs at ${ratioOf(tps, 'floor', 'none').toFixed(2)} of no trigger: what any row-trigger sync costs; single-row runs swing too much on this VM to resolve 3 %, the row below is the check`,
        }),
        checked(
          {
            section,
            metric: `    … per row, set-based (${Math.min(BULK_ROWS, options.rows).toLocaleString('en-US')} rows)`,
            value: median(bulk.phasectl),
            unit: 'ms',
            baseline: median(bulk.floor),
            baselineLabel: 'floor',
            ratio: bulkRatio('phasectl', 'floor'),
            target: '≥ 0.97',
            note: `the same write as one statement, rolled back: the trigger's own cost without clients and commits; floor at ${bulkRatio('floor', 'none').toFixed(2)} of no trigger; ${bulkRuns}`,
          },
          bulkRatio('phasectl', 'floor') >= 0.97,
        ),
      );
      if (workload.alsoDurable && options.durableInserts) {
        const durable = await rounds('on');
        out.push(
          info({
            section,
            metric: `${workload.name}, synchronous_commit=on`,
            value: median(durable.phasectl),
            unit: 'tps',
            baseline: median(durable.none),
            baselineLabel: 'no trigger',
            ratio: ratioOf(durable, 'phasectl', 'none'),
            note: `durable client commits (what most production inserts pay); floor ${ratioOf(durable, 'floor', 'none').toFixed(2)}; ${runs(durable)}`,
          }),
        );
      }
    }
    return { rows: out, tool };
  } finally {
    await rm(scripts, { recursive: true, force: true });
    await project.remove();
    await database.drop();
  }
}
