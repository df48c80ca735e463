import { checkRunOptions } from '../option-bounds.js';
import { PhasectlError } from '../errors.js';
import { runBackfill, type BackfillResult } from '../backfill/engine.js';
import { projectPaths } from '../project.js';
import { acquireRunLock, releaseRunLock } from './advisory-lock.js';
import { applyFile } from './apply-file.js';
import { silent } from './events.js';
import { readMigrationFiles } from './migration-files.js';
import { checkAppliedFiles, rollbackPlan, type RollbackGroup } from './migration-plan.js';
import { applyContext, dryRunEvent, requirePhasesFile, type RunOptions } from './migrate.js';
import { planResolver } from './plan-resolver.js';
import { readApplied, recordDownRun } from './record.js';
import { openSession } from './session.js';
import { ensureStateSchema } from './state-schema.js';

export interface RollbackOptions extends RunOptions {
  /** The release to undo: must be the newest applied one. */
  release: string;
  /** Print (log) the down files and their SQL, change nothing: no state schema, no lock, no writes. */
  dryRun?: boolean;
}

export interface RollbackResult {
  release: string;
  dryRun: boolean;
  /** What the rollback runs (dry run) or ran: per (change, phase) group, its down files in order. */
  planned: { changeId: string; phase: number; downs: string[] }[];
  /** Down files run, in order. */
  ran: { name: string; durationMs: number; backfill?: BackfillResult }[];
  /** Up files removed from phasectl.migrations. */
  removed: string[];
}

/**
 * Runs the down files of the newest applied release: per (change, phase) in reverse file-name order,
 * each group's downs ascending. After a group, its up files leave phasectl.migrations (so a later
 * migrate applies them again) and its finished backfill bookkeeping is reset.
 */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  checkRunOptions(options);
  const log = options.log ?? silent;
  const paths = projectPaths(options.projectDir);
  await requirePhasesFile(paths.phasesFile);
  const files = await readMigrationFiles(paths.migrationsDir);
  const resolvePlan = options.resolvePlan ?? planResolver(paths.phasesFile);
  const run = await openSession(options.databaseUrl, 'phasectl rollback');
  try {
    if (options.dryRun) {
      const applied = await readApplied(run.session);
      checkAppliedFiles(files, applied, paths.migrationsDir);
      const groups = rollbackPlan(files, applied, options.release);
      for (const group of groups) {
        log({ type: 'rollback-group', changeId: group.changeId, phase: group.phase });
        for (const file of group.downs) log(await dryRunEvent(file, resolvePlan));
      }
      return { release: options.release, dryRun: true, planned: describeGroups(groups), ran: [], removed: [] };
    }
    await ensureStateSchema(run.session);
    await acquireRunLock(run.session, run.monitor, { waitSeconds: options.waitLockSeconds ?? 0, log });
    try {
      const applied = await readApplied(run.session);
      checkAppliedFiles(files, applied, paths.migrationsDir);
      const groups = rollbackPlan(files, applied, options.release);
      const ctx = await applyContext(run, options, log);
      const result: RollbackResult = { release: options.release, dryRun: false, planned: describeGroups(groups), ran: [], removed: [] };
      for (const group of groups) {
        log({ type: 'rollback-group', changeId: group.changeId, phase: group.phase });
        for (const file of group.downs) {
          stopIfAborted(options.signal, file.name, result.ran.length, options.release);
          const action = file.header?.action ?? 'sql';
          log({ type: 'file-start', file: file.name, transaction: file.header?.transaction ?? true, action });
          const started = Date.now();
          let backfill: BackfillResult | undefined;
          if (file.header && action === 'backfill') {
            const plan = await resolvePlan(file);
            backfill = await runBackfill(run.session, plan, { ...options.backfill, log, signal: options.signal, retry: ctx.retry, lockTimeoutMs: ctx.lockTimeoutMs });
            await recordDownRun(run.session, file, Date.now() - started);
          } else {
            await applyFile(ctx, file, (session, durationMs) => recordDownRun(session, file, durationMs));
          }
          const durationMs = Date.now() - started;
          log({ type: 'file-done', file: file.name, durationMs });
          result.ran.push({ name: file.name, durationMs, backfill });
        }
        await run.session.query('BEGIN');
        try {
          await run.session.query('DELETE FROM phasectl.migrations WHERE name = ANY($1::text[])', [group.upNames]);
          // A later rollback of this phase must backfill again, and a re-applied phase 1 starts a fresh
          // column: drop the finished bookkeeping that would make those runs no-ops.
          await run.session.query(`DELETE FROM phasectl.backfills WHERE change_id = $1 AND (direction = 'down' OR $2 = 1)`, [group.changeId, group.phase]);
          if (group.phase === 1) await run.session.query('DELETE FROM phasectl.verifications WHERE change_id = $1', [group.changeId]);
          await run.session.query('COMMIT');
        } catch (error) {
          await run.session.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        result.removed.push(...group.upNames);
      }
      return result;
    } finally {
      await releaseRunLock(run.session);
    }
  } finally {
    await run.close();
  }
}

/**
 * Ctrl-C (SIGINT) or SIGTERM between two down files: the files run so far are committed and recorded, the rest
 * did not start. The down files are safe to re-run, so the same rollback command finishes the job.
 */
function stopIfAborted(signal: AbortSignal | undefined, next: string, ran: number, release: string): void {
  if (!signal?.aborted) return;
  throw new PhasectlError(`rollback stopped before ${next}; ${ran} down file(s) run`, {
    exitCode: signal.reason === 'SIGTERM' ? 143 : 130,
    hint: `run \`phasectl rollback --release ${release}\` again to finish it (down files are safe to re-run), or \`phasectl migrate\` to go forward again`,
  });
}

function describeGroups(groups: RollbackGroup[]): RollbackResult['planned'] {
  return groups.map((group) => ({ changeId: group.changeId, phase: group.phase, downs: group.downs.map((file) => file.name) }));
}
