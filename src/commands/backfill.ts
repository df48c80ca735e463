import { InputError, RuntimeFailure } from '../errors.js';
import { BOUNDS, checkBackfillOptions, checkOptions } from '../option-bounds.js';
import { backfillPlan, repairPlan } from '../operations/index.js';
import type { BackfillPlan } from '../operations/types.js';
import type { Change } from '../spec/types.js';
import { projectPaths } from '../project.js';
import { loadCheckedPhases } from './load-project.js';
import { readMigrationFiles } from '../runner/migration-files.js';
import { requireGeneratedMigrations } from '../runner/shipped-files.js';
import { appliedPhase } from '../runner/record.js';
import type { EventLog } from '../events.js';
import { requirePhasesFile } from './migrate.js';
import { requireOriginReplicationRole } from '../session/replication-role.js';
import { withSession } from '../session/with-session.js';
import { runBackfill, type BackfillOptions, type BackfillResult } from '../backfill/engine.js';
import { runVerify, type VerifyResult } from '../backfill/verify.js';
import { MANUAL_VERIFY } from '../backfill/audit.js';
import { checkThrottleQuery, probeThrottle } from '../backfill/throttle.js';
import { workerPool } from '../backfill/workers.js';

/** `phasectl backfill <id>` as a library call. */
export interface BackfillCommandOptions extends Omit<BackfillOptions, 'log'> {
  databaseUrl: string;
  projectDir?: string;
  changeId: string;
  /** `up` (default): fill the new column (phase 1); `down`: fill the old one (rollback of phase 3). */
  direction?: 'up' | 'down';
  log?: EventLog;
}

export interface VerifyCommandOptions {
  databaseUrl: string;
  projectDir?: string;
  changeId: string;
  batchSize?: number;
  /** Key ranges counted at once, each on its own connection (default 1). */
  jobs?: number;
  log?: EventLog;
}

/**
 * Runs or resumes one backfill, with the plan phasectl generates for the change.
 *
 * @example
 * ```ts
 * import { backfill } from 'phasectl';
 *
 * const { rowsUpdated } = await backfill({
 *   databaseUrl: process.env.DATABASE_URL!,
 *   changeId: 'users-job-title-to-favourite-color',
 *   pauseMs: 20,
 * });
 * ```
 */
export async function backfill(options: BackfillCommandOptions): Promise<BackfillResult> {
  checkBackfillOptions(options);
  checkThrottleQuery(options.throttleQuery);
  const { plan: filePlan, change } = await findPlan(options.projectDir, options.changeId, options.direction ?? 'up');
  return withSession(options.databaseUrl, 'phasectl backfill', async (run) => {
    await requireOriginReplicationRole(run.session);
    await probeThrottle(run.session, options);
    const phase = await appliedPhase(run.session, options.changeId);
    // A plain up backfill after phase 3 still says "already finished", as before: deploy scripts may run it every time.
    if (options.repair || filePlan.direction === 'down' || phase < 3) {
      requireColumnsOfPhase(change, phase, filePlan.direction, 'backfill');
    }
    // Once phase 2 is applied the new column is the authority: a repair must not overwrite it with the old one.
    const plan =
      options.repair && filePlan.direction === 'up' ? repairPlan(change, phase >= 2 ? 'new' : 'old') : filePlan;
    const workers = workerPool(options.databaseUrl, options.jobs ?? 1, 'phasectl backfill');
    try {
      return await runBackfill(run.session, plan, { ...options, openWorker: workers.open });
    } finally {
      await workers.close();
    }
  });
}

/**
 * Counts rows where the two columns differ and records the result (phase 2's guard reads it).
 *
 * @example
 * ```ts
 * import { verify } from 'phasectl';
 *
 * const { differing } = await verify({ databaseUrl: process.env.DATABASE_URL!, changeId: 'users-job-title-to-favourite-color' });
 * ```
 */
export async function verify(options: VerifyCommandOptions): Promise<VerifyResult> {
  checkOptions([
    [BOUNDS.verifyBatchSize, options.batchSize],
    [BOUNDS.jobs, options.jobs],
  ]);
  const { plan: filePlan, change } = await findPlan(options.projectDir, options.changeId, 'up');
  return withSession(options.databaseUrl, 'phasectl verify', async (run) => {
    const workers = workerPool(options.databaseUrl, options.jobs ?? 1, 'phasectl verify');
    try {
      // A verification by hand records its audit figures too, under the phase the database is at, marked as such.
      const phase = await appliedPhase(run.session, options.changeId);
      requireColumnsOfPhase(change, phase, 'up', 'verify');
      // From phase 2 on, in sync is what phase 3's verify counts (the repair's filter): the new column the authority.
      const plan = phase >= 2 ? repairPlan(change, 'new') : filePlan;
      return await runVerify(run.session, plan, {
        batchSize: options.batchSize,
        log: options.log,
        jobs: options.jobs,
        openWorker: workers.open,
        ...(phase > 0 ? { auditPhase: phase, auditTakenBy: MANUAL_VERIFY } : {}),
      });
    } finally {
      await workers.close();
    }
  });
}

/**
 * The change's backfill plan of that direction (`backfillPlan`, the one source of plans): the plan of the phase-1
 * `backfill` file for `up` (verify counts with the same plan), of phase 3's `backfill-old` for `down`. Refuses, before
 * any database work, while phases.yaml no longer generates the migration files (so the plan is the one the file
 * carries) or while that file is not generated yet.
 */
async function findPlan(
  projectDir: string | undefined,
  changeId: string,
  direction: 'up' | 'down',
): Promise<{ plan: BackfillPlan; change: Change }> {
  const paths = projectPaths(projectDir);
  await requirePhasesFile(paths.phasesFile);
  const loaded = await loadCheckedPhases(paths.root);
  const { spec } = loaded;
  const change = spec.changes.find((candidate) => candidate.id === changeId);
  if (!change) {
    throw new InputError(`no change "${changeId}" in phases.yaml`, {
      location: { file: paths.phasesFile },
      hint: spec.changes.length
        ? `known changes: ${spec.changes.map((c) => c.id).join(', ')}`
        : 'plan one with `phasectl plan rename …`',
    });
  }
  const files = await readMigrationFiles(paths.migrationsDir);
  requireGeneratedMigrations(loaded, files);
  const generated = files.some(
    (file) =>
      file.header?.changeId === changeId && file.header.action === 'backfill' && file.header.direction === direction,
  );
  if (generated) return { plan: backfillPlan(change, direction), change };
  throw new InputError(`change ${changeId} has no ${direction} backfill file in ${paths.migrationsDir}`, {
    hint:
      direction === 'up'
        ? 'its phase 1 is not generated yet: `phasectl advance --release <name>` writes it'
        : 'the down backfill belongs to phase 3 (its rollback): it exists once phase 3 is generated; use --direction up for phase 1',
  });
}

/**
 * Refuses a backfill or verification the database's phase of the change has no columns for, before any batch: without
 * phase 1 the new column does not exist yet, and once phase 3 is applied the old one is gone. The walk would fail on its
 * first batch with PostgreSQL's "column … does not exist" and a hint to "fix the cause" and resume, when the fix is
 * to run (or roll back) a phase. The down backfill belongs to phase 3's rollback, which re-adds the old column first.
 */
function requireColumnsOfPhase(change: Change, phase: number, direction: 'up' | 'down', what: 'backfill' | 'verify') {
  const name = what === 'verify' ? `verify of ${change.id}` : `${direction} backfill of ${change.id}`;
  if (phase === 0) {
    throw new RuntimeFailure(
      `${name}: phase 1 of ${change.id} is not applied in this database (phasectl.changes has no row for it), so its new column does not exist yet`,
      {
        hint: '`phasectl migrate` applies phase 1 and runs its backfill and verification itself; `phasectl status` shows what is pending',
      },
    );
  }
  if (phase >= 3) {
    const release = change.releases?.phase3;
    throw new RuntimeFailure(
      `${name}: phase 3 of ${change.id} is applied in this database, so its old column is gone` +
        (direction === 'down' ? '' : `: there is nothing to ${what === 'verify' ? 'compare' : 'repair'}`),
      {
        hint:
          direction === 'down'
            ? `the down backfill fills the old column again during phase 3's rollback, which re-adds it first: \`phasectl rollback --release ${release ?? '<release of phase 3>'}\``
            : 'nothing to do: the change is complete',
      },
    );
  }
}
