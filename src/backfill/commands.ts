import { InputError } from '../errors.js';
import { BOUNDS, checkBackfillOptions, checkOptions } from '../option-bounds.js';
import type { BackfillPlan } from '../operations/types.js';
import { projectPaths } from '../project.js';
import { loadCheckedPhases } from '../commands/load-project.js';
import { readMigrationFiles } from '../runner/migration-files.js';
import { planResolver } from '../runner/plan-resolver.js';
import { requireGeneratedMigrations } from '../runner/shipped-files.js';
import type { EventLog } from '../runner/events.js';
import { requirePhasesFile } from '../runner/migrate.js';
import { openSession } from '../runner/session.js';
import { runBackfill, type BackfillOptions, type BackfillResult } from './engine.js';
import { runVerify, type VerifyResult } from './verify.js';
import { checkThrottleQuery, probeThrottle } from './throttle.js';
import { workerPool } from './workers.js';

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

/** Runs or resumes one backfill, with the plan phasectl generates for the change. */
export async function backfill(options: BackfillCommandOptions): Promise<BackfillResult> {
  checkBackfillOptions(options);
  checkThrottleQuery(options.throttleQuery);
  const plan = await findPlan(options.projectDir, options.changeId, options.direction ?? 'up');
  const run = await openSession(options.databaseUrl, 'phasectl backfill');
  const workers = workerPool(options.databaseUrl, options.jobs ?? 1, 'phasectl backfill');
  try {
    await probeThrottle(run.session, options);
    return await runBackfill(run.session, plan, { ...options, openWorker: workers.open });
  } finally {
    await workers.close();
    await run.close();
  }
}

/** Counts rows where the two columns differ and records the result (phase 2's guard reads it). */
export async function verify(options: VerifyCommandOptions): Promise<VerifyResult> {
  checkOptions([[BOUNDS.verifyBatchSize, options.batchSize], [BOUNDS.jobs, options.jobs]]);
  const plan = await findPlan(options.projectDir, options.changeId, 'up');
  const run = await openSession(options.databaseUrl, 'phasectl verify');
  const workers = workerPool(options.databaseUrl, options.jobs ?? 1, 'phasectl verify');
  try {
    return await runVerify(run.session, plan, { batchSize: options.batchSize, log: options.log, jobs: options.jobs, openWorker: workers.open });
  } finally {
    await workers.close();
    await run.close();
  }
}

/**
 * The change's backfill plan of that direction, as its migration file carries it (the file the runner
 * records): the phase-1 `backfill` file for `up` (verify counts with the same plan), phase 3's `backfill-old`
 * for `down`. Refuses, before any database work, while phases.yaml no longer generates the shipped files.
 */
async function findPlan(projectDir: string | undefined, changeId: string, direction: 'up' | 'down'): Promise<BackfillPlan> {
  const paths = projectPaths(projectDir);
  await requirePhasesFile(paths.phasesFile);
  const loaded = await loadCheckedPhases(paths.root);
  const { spec } = loaded;
  const change = spec.changes.find((candidate) => candidate.id === changeId);
  if (!change) {
    throw new InputError(`no change "${changeId}" in phases.yaml`, {
      location: { file: paths.phasesFile },
      hint: spec.changes.length ? `known changes: ${spec.changes.map((c) => c.id).join(', ')}` : 'plan one with `phasectl plan rename …`',
    });
  }
  const files = await readMigrationFiles(paths.migrationsDir);
  requireGeneratedMigrations(loaded, files);
  const resolvePlan = planResolver(paths.phasesFile);
  for (const file of files) {
    if (file.header?.changeId !== changeId || file.header.action !== 'backfill' || file.header.direction !== direction) continue;
    return resolvePlan(file);
  }
  throw new InputError(`change ${changeId} has no ${direction} backfill file in ${paths.migrationsDir}`, {
    hint:
      direction === 'up'
        ? 'its phase 1 is not generated yet: `phasectl advance --release <name>` writes it'
        : 'the down backfill belongs to phase 3 (its rollback): it exists once phase 3 is generated; use --direction up for phase 1',
  });
}
