import { checkRunOptions } from '../option-bounds.js';
import { PhasectlError } from '../errors.js';
import type { BackfillResult } from '../backfill/engine.js';
import { projectPaths } from '../project.js';
import { applyStep } from '../runner/apply-step.js';
import { dropLeftoverCopyTriggers } from '../runner/copy-trigger-leftover.js';
import { silent } from '../events.js';
import { readMigrationFiles } from '../runner/migration-files.js';
import { checkAppliedFiles, rollbackPlan, type RollbackGroup } from '../runner/migration-plan.js';
import { applyContext, dryRunEvent, requirePhasesFile, type RunOptions } from './migrate.js';
import { planResolver } from '../runner/plan-resolver.js';
import { refuseCopyReplicaIdentity } from '../runner/copy-identity.js';
import { refuseMissingTables } from '../runner/sync-in-place.js';
import { refuseWholeRowWritersBeforeRestore } from '../runner/positional-functions.js';
import { loadPhasesFile } from '../spec/load.js';
import { allChanges, type Change } from '../spec/types.js';
import { lockTrustedState, readApplied, recordDownRun } from '../runner/record.js';
import { withRunLock, withSession } from '../session/with-session.js';

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
 *
 * @example
 * ```ts
 * import { rollback } from 'phasectl';
 *
 * const { ran } = await rollback({ databaseUrl: process.env.DATABASE_URL!, release: '1.6.0' });
 * ```
 */
export async function rollback(options: RollbackOptions): Promise<RollbackResult> {
  checkRunOptions(options);
  const log = options.log ?? silent;
  const paths = projectPaths(options.projectDir);
  await requirePhasesFile(paths.phasesFile);
  const files = await readMigrationFiles(paths.migrationsDir);
  const resolvePlan = options.resolvePlan ?? planResolver(paths.phasesFile);
  return withSession(options.databaseUrl, 'phasectl rollback', async (run) => {
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
    return withRunLock(run, { waitLockSeconds: options.waitLockSeconds, log }, async () => {
      const applied = await readApplied(run.session);
      checkAppliedFiles(files, applied, paths.migrationsDir);
      const groups = rollbackPlan(files, applied, options.release);
      // Before the first down file, what would make one fail half way or break the table, the rollback left half
      // done: a table of a change renamed or moved to another schema by hand ("relation does not exist"), the replica
      // identity on an index phase 1's downs drop. Refused, nothing changed.
      const changes = await changesOf(paths.phasesFile);
      for (const group of groups) {
        const change = changes.find((candidate) => candidate.id === group.changeId);
        if (!change) continue;
        const again = `\`phasectl rollback --release ${options.release}\` again`;
        await refuseMissingTables(run.session, change, again);
        // Phase 1's downs drop the new column's indexes: not one the table's replica identity uses.
        if (group.phase === 1) await refuseCopyReplicaIdentity(run.session, change, again);
        // Phase 3's downs add the old column back, last: no function may write the table's whole row by position.
        if (group.phase === 3) await refuseWholeRowWritersBeforeRestore(run.connection.db, change, options.release);
      }
      const ctx = await applyContext(run, options, log);
      const result: RollbackResult = {
        release: options.release,
        dryRun: false,
        planned: describeGroups(groups),
        ran: [],
        removed: [],
      };
      for (const group of groups) {
        log({ type: 'rollback-group', changeId: group.changeId, phase: group.phase });
        for (const file of group.downs) {
          stopIfAborted(options.signal, file.name, result.ran.length, options.release);
          const { durationMs, backfill } = await applyStep(
            ctx,
            run,
            file,
            { ...options, applicationName: 'phasectl rollback' },
            resolvePlan,
            recordDownRun,
          );
          result.ran.push({ name: file.name, durationMs, backfill });
        }
        await run.session.query('BEGIN');
        try {
          await lockTrustedState(run.session);
          if (group.phase === 1) await dropLeftoverCopyTriggers(run.session, group.changeId);
          await run.session.query('DELETE FROM phasectl.migrations WHERE name = ANY($1::text[])', [group.upNames]);
          // A later rollback of this phase must backfill again, and a re-applied phase 1 starts a fresh
          // column: drop the finished bookkeeping that would make those runs no-ops.
          await run.session.query(
            `DELETE FROM phasectl.backfills WHERE change_id = $1 AND (direction = 'down' OR $2 = 1)`,
            [group.changeId, group.phase],
          );
          if (group.phase === 1)
            await run.session.query('DELETE FROM phasectl.verifications WHERE change_id = $1', [group.changeId]);
          await run.session.query('COMMIT');
        } catch (error) {
          await run.session.query('ROLLBACK').catch(() => undefined);
          throw error;
        }
        result.removed.push(...group.upNames);
      }
      return result;
    });
  });
}

/** The changes of phases.yaml, for the table check; none when it does not load (the down files need it only for a backfill). */
async function changesOf(phasesFile: string): Promise<Change[]> {
  try {
    return allChanges((await loadPhasesFile(phasesFile)).spec);
  } catch {
    return [];
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
    hint: `run \`phasectl rollback --release ${release}\` again to finish it (down files are safe to re-run); \`phasectl migrate\` refuses until it is finished`,
  });
}

function describeGroups(groups: RollbackGroup[]): RollbackResult['planned'] {
  return groups.map((group) => ({
    changeId: group.changeId,
    phase: group.phase,
    downs: group.downs.map((file) => file.name),
  }));
}
