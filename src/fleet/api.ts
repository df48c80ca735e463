import { migrate as migrateOne, type MigrateOptions, type MigrateResult } from '../commands/migrate.js';
import { status as statusOne, type StatusOptions, type StatusReport } from '../commands/status.js';
import { migrateFleet, type FleetMigrateOptions, type FleetMigrateResult } from './migrate-fleet.js';
import { statusFleet, type FleetStatusOptions, type FleetStatusResult } from './status-fleet.js';

/**
 * The library's `migrate`: one database (`databaseUrl`) or a fleet (`fleet`: the fleet file, `true` for fleet.yaml
 * in the project). A fleet run resolves with its summary (check `safeToDeploy` / `exitCode`) and reports
 * per-target progress through `log`.
 */
export function migrate(options: FleetMigrateOptions): Promise<FleetMigrateResult>;
export function migrate(options: MigrateOptions): Promise<MigrateResult>;
export function migrate(options: MigrateOptions | FleetMigrateOptions): Promise<MigrateResult | FleetMigrateResult> {
  return isFleet(options) ? migrateFleet(options as FleetMigrateOptions) : migrateOne(options as MigrateOptions);
}

/** The library's `status`: one database, or the fleet's matrix and safe-to-deploy line. */
export function status(options: FleetStatusOptions): Promise<FleetStatusResult>;
export function status(options: StatusOptions): Promise<StatusReport>;
export function status(options: StatusOptions | FleetStatusOptions): Promise<StatusReport | FleetStatusResult> {
  return isFleet(options) ? statusFleet(options as FleetStatusOptions) : statusOne(options as StatusOptions);
}

function isFleet(options: object): boolean {
  return (
    'fleet' in options &&
    (options as { fleet?: unknown }).fleet !== undefined &&
    (options as { fleet?: unknown }).fleet !== false
  );
}
