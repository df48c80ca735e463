/**
 * phasectl as a library: each command is a function with the same behaviour as the CLI,
 * returning structured results and throwing PhasectlError subclasses (exitCode, hint).
 *
 *   import { migrate } from 'phasectl';
 *   await migrate({ databaseUrl: process.env.DATABASE_URL!, log: console.log });
 */

// Errors
export { ExitCode, InputError, PhasectlError, RuntimeFailure, formatError } from './errors.js';

// The accepted range of every numeric option (CLI flags and library options alike)
export { BOUNDS, type OptionBound } from './option-bounds.js';

// Applying migrations
export { type MigrateOptions, type MigrateResult, type AppliedFile, type RunOptions } from './runner/migrate.js';
// migrate and status take `databaseUrl` (one database) or `fleet` (docs/fleets.md)
export { migrate, status } from './fleet/api.js';
export { verifyFleet, type FleetStatusOptions, type FleetStatusResult, type FleetVerifyResult } from './fleet/status-fleet.js';
export type { FleetMigrateOptions, FleetMigrateResult, FleetOptions } from './fleet/migrate-fleet.js';
export type { FleetEvent, FleetLog } from './fleet/events.js';
export type { FleetSummary, FleetTargetResult, TargetOutcome } from './fleet/summary.js';
export { rollback, type RollbackOptions, type RollbackResult } from './runner/rollback.js';
export type { RunnerEvent, EventLog } from './runner/events.js';

// Backfill and verification
export { backfill, verify, type BackfillCommandOptions, type VerifyCommandOptions } from './backfill/commands.js';
export type { BackfillResult } from './backfill/engine.js';
export type { VerifyResult } from './backfill/verify.js';

// Status
export { type StatusOptions, type StatusReport, type ChangeStatus, type BackfillProgress } from './status/status.js';

// Shared types
export type { Change, PhasesFile, RenameChange, PhaseNumber } from './spec/types.js';
export type { BackfillPlan, Step, PhaseSteps } from './operations/types.js';
