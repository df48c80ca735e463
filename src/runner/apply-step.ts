import type pg from 'pg';
import { runBackfill, type BackfillOptions, type BackfillResult } from '../backfill/engine.js';
import { recordVerification, runVerify, type VerifyResult } from '../backfill/verify.js';
import type { BackfillPlan } from '../operations/types.js';
import { workerPool } from '../backfill/workers.js';
import { RuntimeFailure } from '../errors.js';
import type { RunSession } from '../session/session.js';
import { applyFile, type ApplyContext } from './apply-file.js';
import type { MigrationFile } from './migration-files.js';
import type { PlanResolver } from './plan-resolver.js';
import { recordLocked } from './record.js';

/** One file a run applied (an up file for migrate, a down file for rollback). */
export interface AppliedFile {
  name: string;
  action: string;
  durationMs: number;
  backfill?: BackfillResult;
  differing?: number;
}

/** What a step needs beyond the run's context: backfill tuning and the stop signal. */
export interface StepOptions {
  /** Where the backfill's extra workers connect (`--jobs`). */
  databaseUrl: string;
  /** How the workers show in pg_stat_activity, like the run's own session. */
  applicationName: string;
  backfill?: Pick<
    BackfillOptions,
    'batchSize' | 'targetBatchMs' | 'pauseMs' | 'jobs' | 'maxReplicationLagSeconds' | 'throttleQuery'
  >;
  signal?: AbortSignal;
}

/**
 * Runs one migration file, the choice migrate and rollback share: action=backfill runs the engine,
 * action=verify counts differing rows and stops the run when any differ, everything else is SQL.
 * `record` marks the file done (in the file's own transaction for SQL), only once it fully succeeded.
 */
export async function applyStep(
  ctx: ApplyContext,
  run: RunSession,
  file: MigrationFile,
  options: StepOptions,
  resolvePlan: PlanResolver,
  record: (session: pg.ClientBase, file: MigrationFile, durationMs: number) => Promise<void>,
): Promise<AppliedFile> {
  const action = file.header?.action ?? 'sql';
  ctx.log({ type: 'file-start', file: file.name, transaction: file.header?.transaction ?? true, action });
  const started = Date.now();
  const result: AppliedFile = { name: file.name, action, durationMs: 0 };
  if (file.header && action === 'backfill') {
    const plan = await resolvePlan(file);
    const workers = workerPool(options.databaseUrl, options.backfill?.jobs ?? 1, options.applicationName);
    try {
      result.backfill = await runBackfill(run.session, plan, {
        ...options.backfill,
        log: ctx.log,
        signal: options.signal,
        retry: ctx.retry,
        lockTimeoutMs: ctx.lockTimeoutMs,
        openWorker: workers.open,
      });
    } finally {
      await workers.close();
    }
    // Phase 1's copy is verified as it was made when the sync triggers stayed unchanged from its first batch to its
    // last (src/backfill/copy-check.ts), otherwise by a walk now. Phase 2 walks again before its switch either way.
    const asCopied = plan.direction === 'up' && result.backfill.verifiedAsCopied === true;
    if (plan.direction === 'up' && plan.auditSql && !asCopied)
      await verifyWithAudit(run, plan, options, ctx, file.header.phase);
    await recordLocked(run.session, async () => {
      if (asCopied) await recordVerification(run.session, plan.changeId, 0);
      await record(run.session, file, Date.now() - started);
    });
    if (asCopied) ctx.log({ type: 'verify-done', changeId: plan.changeId, differing: 0, asCopied });
  } else if (file.header && action === 'verify') {
    const plan = await resolvePlan(file);
    const verified = await verifyWithAudit(run, plan, options, ctx, file.header.phase);
    result.differing = verified.differing;
    if (verified.differing > 0) {
      throw new RuntimeFailure(
        `verification of ${plan.changeId} found ${verified.differing} row(s) where the two columns differ; stopped before ${file.name}`,
        {
          hint: `run \`phasectl backfill ${plan.changeId} --repair\` (it rewrites exactly the rows that differ; look also for writes that bypass the trigger, e.g. while it was disabled by ALTER TABLE … DISABLE TRIGGER, and for a partition attached since the backfill, whose rows were never copied), then \`phasectl migrate\` again`,
        },
      );
    }
    await recordLocked(run.session, () => record(run.session, file, Date.now() - started));
  } else {
    await applyFile(ctx, file, (session, durationMs) => record(session, file, durationMs));
  }
  result.durationMs = Date.now() - started;
  ctx.log({ type: 'file-done', file: file.name, durationMs: result.durationMs });
  return result;
}

/**
 * A verification walk that also records the audit figures (src/backfill/audit.ts) under `phase`: the verify steps
 * of phases 2 and 3, and right after phase 1's backfill (the figures of the old column and of the new one it filled).
 */
async function verifyWithAudit(
  run: RunSession,
  plan: BackfillPlan,
  options: StepOptions,
  ctx: ApplyContext,
  phase: number,
): Promise<VerifyResult> {
  const workers = workerPool(options.databaseUrl, options.backfill?.jobs ?? 1, options.applicationName);
  return runVerify(run.session, plan, {
    log: ctx.log,
    jobs: options.backfill?.jobs,
    openWorker: workers.open,
    auditPhase: phase,
  }).finally(() => workers.close());
}
