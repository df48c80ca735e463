/**
 * phasectl as a library: every CLI command is a function here with the same behaviour, the same option names
 * (`projectDir`, `databaseUrl`, …), structured results, and PhasectlError subclasses (exitCode, hint) on failure.
 * Each function's documentation shows a usage example.
 *
 * ```ts
 * import { advance, migrate, planRename } from 'phasectl';
 *
 * await planRename({ target: 'users.job_title', newName: 'favourite_color', databaseUrl });
 * await advance({ release: '1.4.0' });                  // writes db/migrations for phase 1
 * await migrate({ databaseUrl, log: console.log });      // on deploy, or from the app's start-up
 * ```
 */

// Errors
export { ExitCode, InputError, PhasectlError, RuntimeFailure, formatError } from './errors.js';

// The accepted range of every numeric option (CLI flags and library options alike)
export { BOUNDS, type OptionBound } from './option-bounds.js';

// Setting up a project and planning changes (no database needed except for reading a column's facts)
export { init, type InitOptions, type InitResult } from './commands/init.js';
export { planRename, type PlanRenameOptions, type PlanRenameResult } from './commands/plan.js';
export { planMove, type PlanMoveOptions, type PlanMoveResult } from './commands/plan-move.js';
export { planRefresh, type PlanRefreshOptions, type PlanRefreshResult } from './commands/plan-refresh.js';
export { advance, type AdvanceOptions, type AdvanceResult } from './commands/advance.js';
export { generate, checkGenerated, type GenerateOptions } from './commands/generate.js';

// The CI gate
export { check, type CheckOptions } from './commands/check.js';
export type { CheckReport, Violation, BaseRef } from './check/types.js';
export { renderText as renderCheckText } from './check/report-text.js';
export { renderJson as renderCheckJson } from './check/report-json.js';
export { renderGithub as renderCheckGithub } from './check/report-github.js';

// Applying migrations
export type { MigrateOptions, MigrateResult, AppliedFile, RunOptions } from './commands/migrate.js';
// migrate and status take `databaseUrl` (one database) or `fleet` (docs/fleets.md)
export { migrate, status } from './fleet/api.js';
export {
  verifyFleet,
  type FleetStatusOptions,
  type FleetStatusResult,
  type FleetVerifyResult,
} from './fleet/status-fleet.js';
export type { FleetMigrateOptions, FleetMigrateResult, FleetOptions } from './fleet/migrate-fleet.js';
export type { FleetEvent, FleetLog } from './fleet/events.js';
export type { FleetSummary, FleetTargetResult, TargetOutcome } from './fleet/summary.js';
export { rollback, type RollbackOptions, type RollbackResult } from './commands/rollback.js';
export type { RunnerEvent, EventLog } from './events.js';

// Backfill and verification
export { backfill, verify, type BackfillCommandOptions, type VerifyCommandOptions } from './commands/backfill.js';
export type { BackfillResult } from './backfill/engine.js';
export type { VerifyResult } from './backfill/verify.js';

// Status
export type { StatusOptions, StatusReport, ChangeStatus, BackfillProgress } from './commands/status.js';

// The life of a change in phases.yaml
export { archive, type ArchiveOptions, type ArchiveResult } from './commands/archive.js';
export { unplan, type UnplanOptions, type UnplanResult } from './commands/unplan.js';
export type { GuardRefusal } from './runner/guard-refusals.js';

// Shared types
export type { Change, PhasesFile, RenameChange, MoveChange, PhaseNumber } from './spec/types.js';
export type { BackfillPlan, Step, PhaseSteps } from './operations/types.js';
