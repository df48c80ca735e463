import { InputError } from '../errors.js';
import { BOUNDS, checkBackfillOptions, checkOptions } from '../option-bounds.js';
import { phaseSteps } from '../operations/index.js';
import type { BackfillPlan } from '../operations/types.js';
import { projectPaths } from '../project.js';
import { loadPhasesFile } from '../spec/load.js';
import type { PhaseNumber } from '../spec/types.js';
import type { EventLog } from '../runner/events.js';
import { requirePhasesFile } from '../runner/migrate.js';
import { openSession } from '../runner/session.js';
import { runBackfill, type BackfillOptions, type BackfillResult } from './engine.js';
import { runVerify, type VerifyResult } from './verify.js';

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
  log?: EventLog;
}

/** Runs or resumes one backfill, with the plan phasectl generates for the change. */
export async function backfill(options: BackfillCommandOptions): Promise<BackfillResult> {
  checkBackfillOptions(options);
  const plan = await findPlan(options.projectDir, options.changeId, options.direction ?? 'up');
  const run = await openSession(options.databaseUrl, 'phasectl backfill');
  try {
    return await runBackfill(run.session, plan, options);
  } finally {
    await run.close();
  }
}

/** Counts rows where the two columns differ and records the result (phase 2's guard reads it). */
export async function verify(options: VerifyCommandOptions): Promise<VerifyResult> {
  checkOptions([[BOUNDS.verifyBatchSize, options.batchSize]]);
  const plan = await findPlan(options.projectDir, options.changeId, 'up');
  const run = await openSession(options.databaseUrl, 'phasectl verify');
  try {
    return await runVerify(run.session, plan, { batchSize: options.batchSize, log: options.log });
  } finally {
    await run.close();
  }
}

/** The change's backfill plan of that direction, from phases.yaml and the operations. */
async function findPlan(projectDir: string | undefined, changeId: string, direction: 'up' | 'down'): Promise<BackfillPlan> {
  const paths = projectPaths(projectDir);
  await requirePhasesFile(paths.phasesFile);
  const { spec } = await loadPhasesFile(paths.phasesFile);
  const change = spec.changes.find((candidate) => candidate.id === changeId);
  if (!change) {
    throw new InputError(`no change "${changeId}" in phases.yaml`, {
      location: { file: paths.phasesFile },
      hint: spec.changes.length ? `known changes: ${spec.changes.map((c) => c.id).join(', ')}` : 'plan one with `phasectl plan rename …`',
    });
  }
  for (const phase of [1, 2, 3] as PhaseNumber[]) {
    const steps = phaseSteps(change, phase);
    for (const step of [...steps.up, ...steps.down]) {
      if (step.action === 'backfill' && step.backfill?.direction === direction) return step.backfill;
    }
  }
  throw new InputError(`change ${changeId} has no ${direction} backfill`, { hint: 'use --direction up (phase 1) or down (rollback of phase 3)' });
}
