/**
 * What the sync trigger costs the application's writes: the same single-row statements from 2 clients
 * with the trigger enabled and disabled (`ALTER TABLE … DISABLE TRIGGER`, same table, same shape),
 * alternating A/B/A/B, medians of the transaction rates. pgbench when installed, else a Node load loop.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { notNullCheckName } from '../src/operations/naming.js';
import { migrate } from '../src/runner/migrate.js';
import { TABLE, TRIGGER, createAccounts, renameProject } from './fixture.js';
import { checked, info, type BenchRow } from './report.js';
import { createBenchDatabase, withClient } from './server.js';
import { median } from './stats.js';

const run = promisify(execFile);
const CLIENTS = 2;

interface Workload {
  name: string;
  target: number;
  /** pgbench script (`:id`, `:v` set by \set lines). */
  script: string;
  /** The same statement for the Node fallback. */
  statement: (rows: number) => { text: string; values: unknown[] };
  /** Also measured with durable client commits (synchronous_commit=on), reported as INFO. */
  alsoDurable?: boolean;
}

/** The clients' synchronous_commit: off isolates the trigger's CPU cost, on is what most production commits pay. */
type SynchronousCommit = 'off' | 'on';

function workloads(rows: number): Workload[] {
  const random = (n: number) => 1 + Math.floor(Math.random() * n);
  return [
    {
      name: 'UPDATE of the renamed column',
      target: 0.95,
      script: `\\set id random(1, ${rows})\n\\set v random(1, 1000000)\nUPDATE public.${TABLE} SET job_title = 'title ' || :v WHERE id = :id;\n`,
      statement: () => ({ text: `UPDATE public.${TABLE} SET job_title = 'title ' || $2 WHERE id = $1`, values: [random(rows), random(1_000_000)] }),
    },
    {
      name: 'UPDATE of an unrelated column',
      target: 0.98,
      script: `\\set id random(1, ${rows})\n\\set v random(1, 1000000)\nUPDATE public.${TABLE} SET n = :v WHERE id = :id;\n`,
      statement: () => ({ text: `UPDATE public.${TABLE} SET n = $2 WHERE id = $1`, values: [random(rows), random(1_000_000)] }),
    },
    {
      name: 'INSERT (old release: old column only)',
      target: 0.95,
      alsoDurable: true,
      script: `\\set v random(1, 1000000)\nINSERT INTO public.${TABLE} (id, job_title, email) VALUES (nextval('public.bench_ids'), 'title ' || :v, 'new' || :v || '@example.com');\n`,
      statement: () => {
        const v = random(1_000_000);
        return { text: `INSERT INTO public.${TABLE} (id, job_title, email) VALUES (nextval('public.bench_ids'), 'title ' || $1, 'new' || $1 || '@example.com')`, values: [v] };
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

async function pgbenchTps(pgbench: string, url: string, scriptFile: string, seconds: number, synchronousCommit: SynchronousCommit): Promise<number> {
  const { stdout } = await run(pgbench, ['-n', '-c', String(CLIENTS), '-j', String(CLIENTS), '-T', String(seconds), '-f', scriptFile], { env: libpqEnvironment(url, synchronousCommit) });
  const match = /tps = ([\d.]+)/.exec(stdout);
  if (!match) throw new Error(`pgbench printed no tps:\n${stdout}`);
  return Number(match[1]);
}

async function nodeTps(url: string, workload: Workload, rows: number, seconds: number, synchronousCommit: SynchronousCommit): Promise<number> {
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
export async function benchWriteOverhead(serverUrl: string, options: { rows: number; seconds: number; pairs: number }): Promise<{ rows: BenchRow[]; tool: string }> {
  const database = await createBenchDatabase(serverUrl, 'writes');
  const project = await withClient(database.url, (client) => createAccounts(client, options.rows)).then(() => renameProject(database.url));
  const scripts = await mkdtemp(join(tmpdir(), 'phasectl-bench-pgbench-'));
  try {
    await migrate({ databaseUrl: database.url, projectDir: project.dir, toRelease: '1.0.0' });
    await withClient(database.url, async (client) => {
      await client.query(`CREATE SEQUENCE public.bench_ids START ${options.rows + 1}`);
      // Without the trigger an old-release insert leaves the new column NULL, which the NOT NULL check refuses:
      // drop the check, in both variants alike, so only the trigger differs.
      await client.query(`ALTER TABLE public.${TABLE} DROP CONSTRAINT ${notNullCheckName(TABLE, 'favourite_color')}`);
      await client.query(`VACUUM ANALYZE public.${TABLE}`);
    });
    const pgbench = await findPgbench();
    const tool = pgbench ? `pgbench (${pgbench}, -n -c ${CLIENTS} -j ${CLIENTS} -T ${options.seconds})` : `Node load loop (pg, ${CLIENTS} clients, ${options.seconds} s; pgbench not found)`;
    const out: BenchRow[] = [];
    const section = `2. write overhead of the sync trigger (${CLIENTS} clients, single-row statements, synchronous_commit=off for the clients)`;
    for (const workload of workloads(options.rows)) {
      const scriptFile = join(scripts, `${workload.name.replace(/\W+/g, '-')}.sql`);
      await writeFile(scriptFile, workload.script);
      const measure = async (enabled: boolean, synchronousCommit: SynchronousCommit): Promise<number> => {
        await withClient(database.url, async (client) => {
          await client.query(`ALTER TABLE public.${TABLE} ${enabled ? 'ENABLE' : 'DISABLE'} TRIGGER ${TRIGGER}`);
          // Every run starts right after a checkpoint: each pays the same full-page writes.
          await client.query('CHECKPOINT');
        });
        return pgbench
          ? await pgbenchTps(pgbench, database.url, scriptFile, options.seconds, synchronousCommit)
          : await nodeTps(database.url, workload, options.rows, options.seconds, synchronousCommit);
      };
      /** A/B pairs (without, with), after one uncounted warm-up run (caches, plans). */
      const pairs = async (synchronousCommit: SynchronousCommit): Promise<{ with: number[]; without: number[] }> => {
        const tps = { with: [] as number[], without: [] as number[] };
        await measure(false, synchronousCommit);
        for (let pair = 0; pair < options.pairs; pair += 1) {
          for (const enabled of [false, true]) tps[enabled ? 'with' : 'without'].push(await measure(enabled, synchronousCommit));
        }
        return tps;
      };
      const tps = await pairs('off');
      const ratio = median(tps.with) / median(tps.without);
      out.push(
        checked(
          {
            section,
            metric: workload.name,
            value: median(tps.with),
            unit: 'tps',
            baseline: median(tps.without),
            baselineLabel: 'no trigger',
            ratio,
            target: `≥ ${workload.target.toFixed(2)}`,
            note: `runs with/without: ${tps.with.map(Math.round).join(', ')} / ${tps.without.map(Math.round).join(', ')} tps`,
          },
          ratio >= workload.target,
        ),
      );
      if (workload.alsoDurable) {
        const durable = await pairs('on');
        out.push(
          info({
            section,
            metric: `${workload.name}, synchronous_commit=on`,
            value: median(durable.with),
            unit: 'tps',
            baseline: median(durable.without),
            baselineLabel: 'no trigger',
            ratio: median(durable.with) / median(durable.without),
            note: `durable client commits (what most production inserts pay); runs with/without: ${durable.with.map(Math.round).join(', ')} / ${durable.without.map(Math.round).join(', ')} tps`,
          }),
        );
      }
    }
    await withClient(database.url, (client) => client.query(`ALTER TABLE public.${TABLE} ENABLE TRIGGER ${TRIGGER}`));
    return { rows: out, tool };
  } finally {
    await rm(scripts, { recursive: true, force: true });
    await project.remove();
    await database.drop();
  }
}
