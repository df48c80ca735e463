/**
 * Lock footprint of the generated steps. (a) Every up file of the three phases on the big table (autovacuum
 * disabled on it, so no step queues behind an autovacuum worker), applied in order like the runner does
 * (transactional files statement by statement between BEGIN and COMMIT, backfill/verify through the real
 * engine). For a transactional file a rolled-back probe run first finds the statement that takes ACCESS
 * EXCLUSIVE on the table; the measured run then executes the statements before it, takes the lock itself
 * with `LOCK TABLE … IN ACCESS EXCLUSIVE MODE` right before that statement (its duration is the *wait*),
 * and times the rest of the file up to the end of COMMIT (the *hold*: from the moment the lock is granted
 * to the moment it is released). (b) The worst wait of application queries while a long transaction
 * blocks the DDL: real `migrate` with a lock_timeout, an app loop measuring each query's latency.
 */
import pg from 'pg';
import { runBackfill } from '../src/backfill/engine.js';
import { runVerify } from '../src/backfill/verify.js';
import { projectPaths } from '../src/project.js';
import type { RunnerEvent } from '../src/events.js';
import { migrate } from '../src/commands/migrate.js';
import { readMigrationFiles, type MigrationFile } from '../src/runner/migration-files.js';
import { planResolver } from '../src/runner/plan-resolver.js';
import { splitStatements } from '../src/sql/split-statements.js';
import { TABLE, createAccounts, renameProject } from './fixture.js';
import { checked, info, type BenchRow } from './report.js';
import { createBenchDatabase } from './server.js';
import { since } from './stats.js';

interface StepLock {
  file: string;
  /** ms from the moment ACCESS EXCLUSIVE was granted to the end of COMMIT; undefined = never held. */
  holdMs?: number;
  /** ms spent waiting for ACCESS EXCLUSIVE before it was granted. */
  waitMs?: number;
  /** The statement that takes it (first line). */
  statement?: string;
  totalMs: number;
  transaction: boolean;
}

async function holdsExclusive(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ held: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks WHERE pid = pg_backend_pid() AND granted AND mode = 'AccessExclusiveLock'
                      AND locktype = 'relation' AND relation = 'public.${TABLE}'::regclass) AS held`,
  );
  return rows[0]!.held;
}

/** Index of the first statement after which the session holds ACCESS EXCLUSIVE on the table (probe, rolled back). */
async function exclusiveStatementIndex(client: pg.ClientBase, statements: string[]): Promise<number | undefined> {
  await client.query('BEGIN');
  try {
    for (const [index, statement] of statements.entries()) {
      await client.query(statement);
      if (await holdsExclusive(client)) return index;
    }
    return undefined;
  } finally {
    await client.query('ROLLBACK');
  }
}

async function applyMeasured(
  client: pg.ClientBase,
  file: MigrationFile,
  resolve: ReturnType<typeof planResolver>,
): Promise<StepLock> {
  const header = file.header!;
  if (header.action === 'backfill' || header.action === 'verify') {
    const started = performance.now();
    const plan = await resolve(file);
    await (header.action === 'backfill' ? runBackfill(client, plan) : runVerify(client, plan));
    return { file: file.name, totalMs: since(started), transaction: false };
  }
  const statements = splitStatements(file.content);
  if (!header.transaction) {
    const started = performance.now();
    for (const statement of statements) await client.query(statement);
    await client.query('RESET lock_timeout; RESET statement_timeout');
    return { file: file.name, totalMs: since(started), transaction: false };
  }
  const exclusiveAt = await exclusiveStatementIndex(client, statements);
  const started = performance.now();
  let waitMs: number | undefined;
  let grantedAt: number | undefined;
  await client.query('BEGIN');
  try {
    for (const [index, statement] of statements.entries()) {
      if (index === exclusiveAt) {
        const asked = performance.now();
        await client.query(`LOCK TABLE public.${TABLE} IN ACCESS EXCLUSIVE MODE`);
        grantedAt = performance.now();
        waitMs = grantedAt - asked;
      }
      await client.query(statement);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
  const ended = performance.now();
  return {
    file: file.name,
    totalMs: ended - started,
    transaction: true,
    ...(grantedAt === undefined || exclusiveAt === undefined
      ? {}
      : { holdMs: ended - grantedAt, waitMs, statement: firstLine(statements[exclusiveAt]!) }),
  };
}

function firstLine(statement: string): string | undefined {
  return statement
    .split('\n')
    .find((line) => line.trim() && !line.trim().startsWith('--'))
    ?.trim();
}

/** (a) ACCESS EXCLUSIVE hold time of every transactional up step of phases 1–3 on a `rows`-row table. */
export async function stepLocks(serverUrl: string, rows: number): Promise<StepLock[]> {
  const database = await createBenchDatabase(serverUrl, 'locks');
  const client = new pg.Client({ connectionString: database.url, application_name: 'phasectl-bench-locks' });
  await client.connect();
  const project = await createAccounts(client, rows).then(() => renameProject(database.url));
  // Autovacuum would start on the freshly backfilled table and the next DDL would queue behind it (up to
  // deadlock_timeout, when PostgreSQL cancels the worker): a wait, not a hold, reported by (b) instead.
  await client.query(`ALTER TABLE public.${TABLE} SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)`);
  try {
    const paths = projectPaths(project.dir);
    const resolve = planResolver(paths.phasesFile);
    const files = (await readMigrationFiles(paths.migrationsDir)).filter((file) => file.direction === 'up');
    const out: StepLock[] = [];
    for (const file of files) out.push(await applyMeasured(client, file, resolve));
    return out;
  } finally {
    await client.end();
    await project.remove();
    await database.drop();
  }
}

export interface BlockedRun {
  lockTimeoutMs: number;
  holdMs: number;
  /** Latencies of the app's queries while migrate ran (ms). */
  worstMs: number;
  queries: number;
  retries: number;
  migrateMs: number;
}

/**
 * (b) One client holds ACCESS SHARE (an open transaction that read the table) for `holdMs`; `migrate`
 * runs phase 1 with `lockTimeoutMs`; another client keeps reading and writing single rows. Each DDL
 * attempt queues behind the holder and makes the app queue behind it, for at most lock_timeout.
 */
export async function blockedDdl(
  serverUrl: string,
  options: { rows: number; lockTimeoutMs: number; holdMs: number },
): Promise<BlockedRun> {
  const database = await createBenchDatabase(serverUrl, 'blocked');
  const holder = new pg.Client({ connectionString: database.url, application_name: 'bench-long-transaction' });
  const app = new pg.Client({ connectionString: database.url, application_name: 'bench-app' });
  await Promise.all([holder.connect(), app.connect()]);
  const project = await createAccounts(holder, options.rows).then(() => renameProject(database.url));
  try {
    await holder.query('BEGIN');
    await holder.query(`SELECT count(*) FROM public.${TABLE} WHERE id = 1`);
    let stop = false;
    const latencies: number[] = [];
    const appLoop = (async () => {
      for (let i = 0; !stop; i += 1) {
        const id = 1 + ((i * 7919) % options.rows);
        const started = performance.now();
        if (i % 2 === 0) await app.query(`SELECT job_title FROM public.${TABLE} WHERE id = $1`, [id]);
        else await app.query(`UPDATE public.${TABLE} SET n = n + 1 WHERE id = $1`, [id]);
        latencies.push(since(started));
      }
    })();
    const release = setTimeout(() => void holder.query('COMMIT'), options.holdMs);
    let retries = 0;
    const migrateStarted = performance.now();
    try {
      await migrate({
        databaseUrl: database.url,
        projectDir: project.dir,
        toRelease: '1.0.0',
        lockTimeoutMs: options.lockTimeoutMs,
        retryForSeconds: 60,
        log: (event: RunnerEvent) => {
          if (event.type === 'retry') retries += 1;
        },
      });
    } finally {
      clearTimeout(release);
      stop = true;
      await appLoop;
    }
    const migrateMs = since(migrateStarted);
    return {
      lockTimeoutMs: options.lockTimeoutMs,
      holdMs: options.holdMs,
      worstMs: Math.max(...latencies),
      queries: latencies.length,
      retries,
      migrateMs,
    };
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await Promise.all([holder.end(), app.end()]);
    await project.remove();
    await database.drop();
  }
}

/** Section 3 as table rows. */
export async function benchLocks(
  serverUrl: string,
  options: { rows: number; blockedRows: number },
): Promise<BenchRow[]> {
  const section = `3. lock footprint (${options.rows.toLocaleString('en-US')} rows)`;
  const steps = await stepLocks(serverUrl, options.rows);
  const out: BenchRow[] = steps.flatMap((step) => {
    const name = step.file.replace(/^\d+_[^_]+_/, '').replace('.up.sql', '');
    if (step.holdMs === undefined) {
      return [
        info({
          section,
          metric: `${name}: ACCESS EXCLUSIVE`,
          value: 0,
          unit: 'ms',
          note: `never held on the table; step took ${Math.round(step.totalMs)} ms ${step.transaction ? 'in one transaction' : 'outside a transaction (batches / CONCURRENTLY)'}`,
        }),
      ];
    }
    return [
      checked(
        {
          section,
          metric: `${name}: ACCESS EXCLUSIVE held`,
          value: step.holdMs,
          unit: 'ms',
          target: '≤ 50 ms',
          note: `from the grant (taken right before \`${(step.statement ?? '').slice(0, 60)}\`) to the end of COMMIT; whole transaction ${step.totalMs.toFixed(1)} ms`,
        },
        step.holdMs <= 50,
      ),
      info({
        section,
        metric: `${name}: waiting for ACCESS EXCLUSIVE`,
        value: step.waitMs ?? 0,
        unit: 'ms',
        note: 'LOCK TABLE until granted (autovacuum off on the table; a wait is bounded by lock_timeout, see the app-wait row)',
      }),
    ];
  });
  const blocked = await blockedDdl(serverUrl, { rows: options.blockedRows, lockTimeoutMs: 500, holdMs: 2500 });
  out.push(
    checked(
      {
        section,
        metric: 'worst app query wait while a long transaction blocks the DDL',
        value: blocked.worstMs,
        unit: 'ms',
        target: `≤ ${blocked.lockTimeoutMs + 200} ms`,
        note: `lock_timeout ${blocked.lockTimeoutMs} ms, ACCESS SHARE held ${blocked.holdMs} ms; ${blocked.retries} lock-timeout retries; ${blocked.queries} app queries; migrate took ${Math.round(blocked.migrateMs)} ms`,
      },
      blocked.worstMs <= blocked.lockTimeoutMs + 200,
    ),
  );
  return out;
}
