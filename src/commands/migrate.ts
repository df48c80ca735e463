import { recordGuardRefusal } from '../runner/guard-refusals.js';
import { access } from 'node:fs/promises';
import { checkRunOptions } from '../option-bounds.js';
import { InputError, PhasectlError } from '../errors.js';
import type { BackfillOptions } from '../backfill/engine.js';
import { checkThrottleQuery, probeThrottle } from '../backfill/throttle.js';
import { projectPaths } from '../project.js';
import type { ApplyContext } from '../runner/apply-file.js';
import { silent, type EventLog, type RunnerEvent } from '../events.js';
import { readMigrationFiles, type MigrationFile } from '../runner/migration-files.js';
import { checkAppliedFiles, pendingUpFiles } from '../runner/migration-plan.js';
import { planResolver, type PlanResolver } from '../runner/plan-resolver.js';
import { readApplied, recordApplied } from '../runner/record.js';

export type { AppliedFile } from '../runner/apply-step.js';
import type { RunSession } from '../session/session.js';
import { withRunLock, withSession } from '../session/with-session.js';
import { applyStep, type AppliedFile } from '../runner/apply-step.js';
import { requireSyncInPlace } from '../runner/sync-in-place.js';
import { refuseHalfRollback } from '../runner/rollback-history.js';
import { refuseColumnListUpdateTrigger } from '../runner/update-trigger-form.js';
import { refuseUnrecordedNewColumn } from '../runner/unrecorded-column.js';
import { refusePositionalFunctions } from '../runner/positional-functions.js';
import { requireGeneratedMigrations } from '../runner/shipped-files.js';
import { explainPhaseOneFailure } from '../runner/phase-one-failure.js';
import { loadCheckedPhases } from './load-project.js';

/**
 * Why not kysely's Migrator: it runs every migration of a batch in one transaction (or none, if
 * disabled), and with transactions disabled it takes its advisory lock inside a transaction it then
 * cannot hold across CREATE INDEX CONCURRENTLY. phasectl needs a per-file transaction choice,
 * a session-level lock for the whole run, lock_timeout retries and checksums, so it has its own runner.
 */

/** Options shared by migrate and rollback. */
export interface RunOptions {
  databaseUrl: string;
  /** Project root (phases.yaml, db/migrations); default the current directory. */
  projectDir?: string;
  log?: EventLog;
  /** Replaces the lock_timeout the files set (default: theirs, 2 s where they set none). */
  lockTimeoutMs?: number;
  /** Keep retrying lock timeouts for this many seconds (default 60). */
  retryForSeconds?: number;
  /** Wait this long for another phasectl run to finish (default 0: fail at once). */
  waitLockSeconds?: number;
  /**
   * Print the queries of the sessions blocking a migration (constants masked as $1, $2 …) in the lock-wait
   * message and retry events. Default false: pid, user, application, state and age only.
   */
  showBlockerQueries?: boolean;
  /** Backfill tuning for action=backfill files. */
  backfill?: Pick<
    BackfillOptions,
    'batchSize' | 'targetBatchMs' | 'pauseMs' | 'jobs' | 'maxReplicationLagSeconds' | 'throttleQuery'
  >;
  /** Stops between files and between backfill batches (SIGINT/SIGTERM in the CLI). */
  signal?: AbortSignal;
  /** Where backfill/verify files get their plan; default the plan the file carries (see plan-resolver.ts). */
  resolvePlan?: PlanResolver;
}

export interface MigrateOptions extends RunOptions {
  dryRun?: boolean;
  /** Stop after the last file of this release. */
  toRelease?: string;
}

export interface MigrateResult {
  /** Files applied by this run, in order (empty on a dry run). */
  applied: AppliedFile[];
  /** Files a dry run would apply. */
  pending: string[];
  dryRun: boolean;
}

/**
 * Applies the pending up files of db/migrations in file-name order (see docs/internals.md).
 *
 * @example
 * ```ts
 * import { migrate } from 'phasectl';
 *
 * // On application start-up: apply what this release ships, backfills included.
 * const { applied } = await migrate({ databaseUrl: process.env.DATABASE_URL!, log: console.log });
 *
 * // Print the SQL only, change nothing:
 * await migrate({ databaseUrl: process.env.DATABASE_URL!, dryRun: true, log: (event) => console.log(event) });
 * ```
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  checkRunOptions(options);
  checkThrottleQuery(options.backfill?.throttleQuery);
  const log = options.log ?? silent;
  const paths = projectPaths(options.projectDir);
  await requirePhasesFile(paths.phasesFile);
  const loaded = await loadCheckedPhases(paths.root);
  const files = await readMigrationFiles(paths.migrationsDir);
  // Before any database work: what runs is the files, so phases.yaml must still generate them.
  const kept = requireGeneratedMigrations(loaded, files);
  for (const message of kept.notes) log({ type: 'kept-file', level: 'note', message });
  for (const { path, message } of kept.warnings) log({ type: 'kept-file', level: 'warning', file: path, message });
  const resolvePlan = options.resolvePlan ?? planResolver(paths.phasesFile);
  return withSession(options.databaseUrl, 'phasectl migrate', async (run) => {
    if (options.dryRun) return await dryRun(run, files, paths.migrationsDir, options, resolvePlan);
    // A bad --throttle-query or missing rights for --max-replication-lag: refused before the first file runs.
    await probeThrottle(run.session, options.backfill ?? {});
    return withRunLock(run, { waitLockSeconds: options.waitLockSeconds, log }, async () => {
      const applied = await readApplied(run.session);
      checkAppliedFiles(files, applied, paths.migrationsDir);
      await refuseHalfRollback(run.session);
      const pending = pendingUpFiles(files, applied, options.toRelease);
      if (pending.length === 0) {
        log({ type: 'up-to-date' });
        return { applied: [], pending: [], dryRun: false };
      }
      const ctx = await applyContext(run, options, log);
      const done: AppliedFile[] = [];
      for (const file of pending) {
        if (options.signal?.aborted) {
          throw new PhasectlError(`migrate stopped before ${file.name}; ${done.length} file(s) applied`, {
            exitCode: options.signal.reason === 'SIGTERM' ? 143 : 130,
            hint: 'run `phasectl migrate` to continue',
          });
        }
        try {
          // The gates of phases 2 and 3: a sync trigger disabled or a default added by hand stops the run.
          const change = loaded.spec.changes.find((candidate) => candidate.id === file.header?.changeId);
          if (change && file.header?.action === 'verify') await requireSyncInPlace(run.session, change);
          if (change && file.header?.action === 'verify' && file.header.phase === 2)
            await refuseColumnListUpdateTrigger(run.session, change);
          if (change && file.header?.phase === 1 && file.header.order === 1)
            await refuseUnrecordedNewColumn(run.session, change);
          // Before the column order changes (phase 1's expand, phase 3's unsync and contract): the functions read again
          // and judged by the parser, where the files' own guards only compare each flagged body's md5 to plan's.
          if (change && file.header) await refusePositionalFunctions(run.connection.db, change, file.header);
          done.push(
            await applyStep(
              ctx,
              run,
              file,
              { ...options, applicationName: 'phasectl migrate' },
              resolvePlan,
              recordApplied,
            ),
          );
        } catch (error) {
          await recordGuardRefusal(run.session, file, error); // for `status`: the last guard refusal
          throw explainPhaseOneFailure(error, file.header);
        }
      }
      return { applied: done, pending: [], dryRun: false };
    });
  });
}

/** The shared context of every file of a run. */
export async function applyContext(run: RunSession, options: RunOptions, log: EventLog): Promise<ApplyContext> {
  const { rows } = await run.session.query<{ pid: number }>('SELECT pg_catalog.pg_backend_pid() AS pid');
  return {
    session: run.session,
    sessionPid: rows[0]!.pid,
    monitor: run.monitor,
    log,
    retry: { retryForSeconds: options.retryForSeconds ?? 60 },
    userSearchPath: () => run.userSearchPath(),
    lockTimeoutMs: options.lockTimeoutMs,
    showBlockerQueries: options.showBlockerQueries,
  };
}

async function dryRun(
  run: RunSession,
  files: MigrationFile[],
  migrationsDir: string,
  options: MigrateOptions,
  resolvePlan: PlanResolver,
): Promise<MigrateResult> {
  const log = options.log ?? silent;
  const applied = await readApplied(run.session);
  checkAppliedFiles(files, applied, migrationsDir);
  const pending = pendingUpFiles(files, applied, options.toRelease);
  if (pending.length === 0) log({ type: 'up-to-date' });
  for (const file of pending) log(await dryRunEvent(file, resolvePlan));
  return { applied: [], pending: pending.map((file) => file.name), dryRun: true };
}

/** What a dry run prints for one file: its SQL, or for a batched step the SQL of each batch. */
export async function dryRunEvent(file: MigrationFile, resolvePlan: PlanResolver): Promise<RunnerEvent> {
  const action = file.header?.action ?? 'sql';
  let note: string | undefined;
  if (file.header && action !== 'sql') {
    const plan = await resolvePlan(file).catch(() => undefined);
    note = plan
      ? `${action === 'backfill' ? 'batched backfill' : 'batched verification'} of ${plan.table.schema}.${plan.table.table} by (${plan.keyColumns.join(', ')}), each batch:\n${action === 'backfill' ? plan.updateSql : plan.countDifferentSql}`
      : `phasectl runs its batched ${action} engine for this step`;
  }
  return { type: 'file-dry-run', file: file.name, sql: file.content, action, note };
}

/** phases.yaml must exist: a project without one was never initialised. */
export async function requirePhasesFile(file: string): Promise<void> {
  try {
    await access(file);
  } catch {
    throw new InputError(`no phases.yaml in ${file.replace(/[/\\]phases\.yaml$/, '')}`, {
      hint: 'run `phasectl init` to create one, or pass --project <dir> (run phasectl from the project root)',
    });
  }
}
