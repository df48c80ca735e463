import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { advance } from '../commands/advance.js';
import { init } from '../commands/init.js';
import { planRename } from '../commands/plan.js';
import { startEmbeddedPostgres } from '../db/embedded.js';
import { InputError, PhasectlError } from '../errors.js';
import { eventPrinter } from '../terminal/event-printer.js';
import type { RunnerEvent } from '../events.js';
import { migrate } from '../commands/migrate.js';
import { startAppTraffic, type AppTraffic, type TrafficMix } from './app-instances.js';
import { findLostWrites } from './lost-writes.js';
import { formatSummary, type DemoSummary } from './report.js';
import { runTimings } from './run-timings.js';
import { sampleTableSql } from './sample-table.js';
import { keyStatements } from './sql-excerpt.js';
import { style as makeStyle } from './style.js';

export const DEFAULT_DEMO_ROWS = 300_000;

export interface DemoOptions {
  /** Rows in the sample table (default 300,000). */
  rows?: number;
  /** Print the full SQL of each migration instead of its key statements. */
  showSql?: boolean;
  /** Leave the server running; the caller stops it with `result.server.stop()`. */
  keep?: boolean;
  write: (text: string) => void;
  /** Progress as a bar redrawn in place (a terminal) or periodic lines. */
  tty: boolean;
  color: boolean;
  /** Aborting stops the writers and the migration between files or batches. */
  signal?: AbortSignal;
  /** Sees every event of the demo's migrate runs (the CLI names the file a first Ctrl-C waits for). */
  onRunnerEvent?: (event: RunnerEvent) => void;
  /** Set to a function that ends an open progress bar (before a stop message is printed). */
  progress?: { end?: () => void };
  /** Use this empty database instead of starting an embedded server (tests). */
  databaseUrl?: string;
  /** Simulated application instances (default 4). */
  instances?: number;
  /** How long traffic runs between the steps of a release, in ms (default 800). */
  pauseMs?: number;
}

export interface DemoResult {
  summary: DemoSummary;
  /** With `keep`: the running server (its URL includes the password of this throwaway server). */
  server?: { url: string; stop(): Promise<void> };
}

const CHANGE_ID = 'users-job-title-to-favourite-color';

interface Release {
  name: string;
  title: string;
  /** Traffic while the release's migrations run. */
  during: TrafficMix;
  /** Traffic once they are applied (the release's instances are up). */
  after: TrafficMix;
}

const releases: Release[] = [
  {
    name: '1.4.0',
    title:
      'phase 1, expand: the old app (writes job_title) keeps running while favourite_color is added, synced and backfilled',
    during: { versions: ['old'], newInserts: false },
    after: { versions: ['old'], newInserts: false },
  },
  {
    name: '1.5.0',
    title:
      'phase 2, switch: blue/green — old instances write job_title, new ones favourite_color, during and after the switch',
    // New instances only update until the switch commits; see docs/demo.md ("why new inserts wait for the switch").
    during: { versions: ['old', 'new'], newInserts: false },
    after: { versions: ['old', 'new'], newInserts: true },
  },
  {
    name: '1.6.0',
    title:
      'phase 3, contract: only new instances remain (their code no longer names job_title) while job_title is dropped',
    during: { versions: ['new'], newInserts: true },
    after: { versions: ['new'], newInserts: true },
  },
];

/**
 * The "first five minutes": renames users.job_title → favourite_color on a throwaway PostgreSQL over
 * three releases while simulated application instances keep writing, then checks every row against
 * the last write committed for it. Cleans up (server, temp project) unless `keep`.
 */
export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const rows = options.rows ?? DEFAULT_DEMO_ROWS;
  if (!Number.isInteger(rows) || rows < 1 || rows > 50_000_000) {
    throw new InputError(`--rows ${rows} is out of range`, {
      hint: 'give a whole number of rows between 1 and 50,000,000 (default 300,000)',
    });
  }
  const s = makeStyle(options.color);
  const write = options.write;
  const pauseMs = options.pauseMs ?? 800;
  const started = performance.now();
  const say = (text: string) => write(`${text}\n`);
  const heading = (text: string) => say(`\n${s.bold(s.cyan(`== ${text}`))}`);
  const aborted = () => {
    if (options.signal?.aborted)
      throw new PhasectlError('demo interrupted', { exitCode: options.signal.reason === 'SIGTERM' ? 143 : 130 });
  };

  say(s.bold(`phasectl demo: rename users.job_title → favourite_color in three releases, under live writes`));
  let server: { url: string; stop(): Promise<void> } | undefined;
  let projectDir: string | undefined;
  let traffic: AppTraffic | undefined;
  // If the process exits under us (Ctrl-C), remove the project folder; the embedded server stops itself.
  const removeProjectOnExit = () => {
    if (projectDir) rmSync(projectDir, { recursive: true, force: true });
  };
  process.once('exit', removeProjectOnExit);
  let keepServer = false;
  try {
    let url = options.databaseUrl;
    if (!url) {
      say(s.dim('starting a temporary PostgreSQL (embedded: no server to install, no Docker) …'));
      const t = performance.now();
      server = await startEmbeddedPostgres();
      url = server.url;
      say(s.dim(`  ready in ${((performance.now() - t) / 1000).toFixed(1)} s`));
    }
    aborted();
    say(s.dim(`creating public.users with ${rows.toLocaleString('en-US')} rows …`));
    await runSql(url, sampleTableSql(rows));
    projectDir = await mkdtemp(join(tmpdir(), 'phasectl-demo-'));
    await init({ projectDir });

    heading('plan rename users.job_title favourite_color');
    const planned = await planRename({
      projectDir: projectDir,
      target: 'public.users.job_title',
      newName: 'favourite_color',
      id: CHANGE_ID,
      databaseUrl: url,
    });
    say(planned.plan.trimEnd());

    const instances = options.instances ?? 4;
    traffic = await startAppTraffic(url, { instances, rows, mix: releases[0]!.during });
    say(
      s.dim(
        `\n${instances} application instances are writing (random updates and inserts), each remembering what it committed`,
      ),
    );
    await sleep(pauseMs, options.signal);

    const timings = runTimings();
    const printer = eventPrinter({ tty: options.tty, write });
    if (options.progress) options.progress.end = printer.end;
    for (const release of releases) {
      aborted();
      heading(`release ${release.name} — ${release.title}`);
      traffic.setMix(release.during);
      const advanced = await advance({ projectDir: projectDir, release: release.name });
      if (advanced.kind !== 'advanced')
        throw new PhasectlError(`advance ${release.name} did nothing: ${advanced.message}`, { exitCode: 3 });
      say(`phasectl advance --release ${release.name}: ${advanced.written.length} files written`);
      await showMigrations(projectDir, advanced.written, options.showSql === true, say, s);
      say(`phasectl migrate`);
      const currentTraffic = traffic;
      const log = (event: RunnerEvent) => {
        timings.log(event);
        options.onRunnerEvent?.(event);
        printer(event);
        // The switch committed: the new release's inserts are safe from here on.
        if (event.type === 'file-done' && /_p2_\d+_switch\.up\.sql$/.test(event.file))
          currentTraffic.setMix(release.after);
      };
      const result = await migrate({ databaseUrl: url, projectDir, log, signal: options.signal });
      say(s.green(`  applied ${result.applied.length} file(s)`));
      traffic.setMix(release.after);
      await sleep(pauseMs, options.signal);
    }

    heading('checking every row');
    await traffic.stop();
    const surviving = await query<{ id: string; value: string | null }>(
      url,
      'SELECT id, favourite_color AS value FROM public.users',
    );
    const lost = findLostWrites(
      surviving.map((row) => ({ id: Number(row.id), value: row.value })),
      traffic.expected,
      rows,
    );
    const columns = await query<{ column_name: string }>(
      url,
      `SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'users' ORDER BY ordinal_position`,
    );
    say(`public.users now has columns: ${columns.map((c) => c.column_name).join(', ')}`);
    const summary: DemoSummary = {
      updates: traffic.writes.updates,
      inserts: traffic.writes.inserts,
      byVersion: { ...traffic.writes.byVersion },
      failedWrites: traffic.writes.failed,
      writeErrors: [...traffic.errors],
      rowsChecked: surviving.length,
      lost,
      longestLock: timings.longestLock(),
      slowestWriteMs: traffic.slowestWriteMs,
      backfills: timings.backfills,
      totalMs: performance.now() - started,
    };
    write(`\n${formatSummary(summary, s)}`);
    keepServer = options.keep === true && server !== undefined;
    return { summary, ...(keepServer && server ? { server } : {}) };
  } finally {
    await traffic?.stop().catch(() => undefined);
    if (projectDir) await rm(projectDir, { recursive: true, force: true }).catch(() => undefined);
    process.off('exit', removeProjectOnExit);
    if (server && !keepServer) await server.stop();
  }
}

/** Prints each written up migration: its name and key statements, or its full SQL. */
async function showMigrations(
  projectDir: string,
  written: string[],
  full: boolean,
  say: (text: string) => void,
  s: ReturnType<typeof makeStyle>,
): Promise<void> {
  for (const path of written.filter((p) => p.startsWith('db/migrations/') && p.endsWith('.up.sql')).sort()) {
    const text = await readFile(join(projectDir, path), 'utf8');
    const transactional = /transaction=true/.test(text.split('\n', 1)[0] ?? '');
    say(
      `  ${s.bold(path.slice('db/migrations/'.length))}${s.dim(transactional ? '  (one transaction)' : '  (outside a transaction)')}`,
    );
    if (full) say(text.trimEnd().replace(/^/gm, '    '));
    else for (const line of keyStatements(text)) say(s.dim(`    ${line}`));
  }
}

async function runSql(url: string, text: string): Promise<void> {
  await query(url, text);
}

async function query<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, application_name: 'phasectl demo' });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
