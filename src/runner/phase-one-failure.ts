import { InputError, PhasectlError, RuntimeFailure } from '../errors.js';
import { isConnectionLost } from '../session/pg-error.js';
import type { MigrationHeader } from './migration-files.js';

/**
 * A step of phase 1 failed after its expand step installed the sync trigger (the backfill, an index build,
 * a constraint validation): the trigger stays, and when the failure comes from the conversion (`up`), every
 * application write to the table fails in the trigger too. Phase 1 only added things, so its down files undo it:
 * the error says so, with the one command, and what to do next. Other errors pass through unchanged.
 */
export function explainPhaseOneFailure(error: unknown, header: MigrationHeader | undefined): unknown {
  if (!header || header.phase !== 1 || header.direction !== 'up' || header.order <= 1) return error;
  // Stopped by SIGINT/SIGTERM: progress is saved and `migrate` resumes; nothing is broken.
  if (error instanceof PhasectlError && (error.exitCode === 130 || error.exitCode === 143)) return error;
  // The server went away (restart, failover): nothing failed in the data; the error's own hint (rerun, it resumes) is
  // the fix, not a rollback of phase 1.
  if (isConnectionLost(error) || (error instanceof Error && isConnectionLost(error.cause))) return error;
  const base =
    error instanceof PhasectlError
      ? error
      : new RuntimeFailure(error instanceof Error ? error.message : String(error), { cause: error });
  const rollback = `phasectl rollback --release ${header.release}`;
  const hint =
    `phase 1 of ${header.changeId} is half applied and its sync trigger is installed: if the up conversion is what fails, ` +
    `the application's INSERTs and UPDATEs of the table are failing too, as long as the trigger is there.\n  ` +
    `Undo phase 1 now with \`${rollback}\` (it only added the new column, the trigger, its function and indexes; the old column is untouched; ` +
    `it rolls back everything release ${header.release} applied in this database). ` +
    'Then fix the data and `phasectl migrate` again, or change `up`/`down` of the change in phases.yaml, `phasectl generate` and `phasectl migrate`.' +
    `${base.hint ? `\n  Or, to go on without undoing: ${base.hint}` : ''}`;
  if (base instanceof RuntimeFailure) return new RuntimeFailure(base.message, { hint, cause: error });
  if (base instanceof InputError) return new InputError(base.message, { hint, location: base.location, cause: error });
  return new PhasectlError(base.message, { exitCode: base.exitCode, hint, location: base.location, cause: error });
}
