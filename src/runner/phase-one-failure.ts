import { InputError, PhasectlError, RuntimeFailure } from '../errors.js';
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
  const base = error instanceof PhasectlError ? error : new RuntimeFailure(error instanceof Error ? error.message : String(error), { cause: error });
  const rollback = `phasectl rollback --release ${header.release}`;
  const hint =
    `${base.hint ? `${base.hint}\n  ` : ''}` +
    `phase 1 of ${header.changeId} is half applied: its sync trigger is installed. If this failure comes from the up conversion, ` +
    `the application's INSERTs and UPDATEs of that table are failing too, for as long as the trigger is there.\n  ` +
    `To undo phase 1 now (it only added the new column, the trigger and its function, and indexes; no data of the old column is touched): \`${rollback}\` ` +
    `(it rolls back everything release ${header.release} applied in this database).\n  ` +
    'Then fix the data and run `phasectl migrate` again, or change `up`/`down` of the change in phases.yaml, run `phasectl generate` and `phasectl migrate`.';
  if (base instanceof RuntimeFailure) return new RuntimeFailure(base.message, { hint, cause: error });
  if (base instanceof InputError) return new InputError(base.message, { hint, location: base.location, cause: error });
  return new PhasectlError(base.message, { exitCode: base.exitCode, hint, location: base.location, cause: error });
}
