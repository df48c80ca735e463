import { migrateFleet } from '../fleet/migrate-fleet.js';
import { formatFleetStatus, formatFleetVerify, statusFleet, verifyFleet } from '../fleet/status-fleet.js';
import { formatSummary } from '../fleet/summary.js';
import type { FleetEvent } from '../fleet/events.js';
import { abortOnSignals } from './signals.js';
import { fleetEventJson, formatFleetEvent, requireFleetAlone, type FleetFlags } from './fleet.js';
import { processOutput } from './output.js';

/** `--fleet` on migrate, status and verify: the same library call per database, one summary at the end. */
interface CommonFlags extends FleetFlags {
  project?: string;
  json?: boolean;
  quiet?: boolean;
}

function fleetPrinter(flags: CommonFlags): (event: FleetEvent) => void {
  return (event) => {
    if (flags.quiet) return;
    if (flags.json) return processOutput.out(fleetEventJson(event));
    const line = formatFleetEvent(event);
    if (line !== undefined) processOutput.out(line);
  };
}

export async function migrateFleetCli(
  flags: CommonFlags & {
    toRelease?: string;
    dryRun?: boolean;
    allowPartialFleet?: boolean;
    lockTimeout?: number;
    retryFor?: number;
    waitLock?: number;
    showBlockerQueries?: boolean;
    batchSize?: number;
    targetBatchMs?: number;
    pauseMs?: number;
  },
): Promise<number> {
  requireFleetAlone(flags);
  const signals = abortOnSignals();
  try {
    const result = await migrateFleet({
      fleet: flags.fleet!,
      projectDir: flags.project,
      concurrency: flags.concurrency,
      failFast: flags.failFast,
      allowPartialFleet: flags.allowPartialFleet,
      dryRun: flags.dryRun,
      toRelease: flags.toRelease,
      lockTimeoutMs: flags.lockTimeout,
      retryForSeconds: flags.retryFor,
      waitLockSeconds: flags.waitLock,
      showBlockerQueries: flags.showBlockerQueries,
      backfill: { batchSize: flags.batchSize, targetBatchMs: flags.targetBatchMs, pauseMs: flags.pauseMs },
      signal: signals.signal,
      log: fleetPrinter(flags),
    });
    processOutput.out(flags.json ? JSON.stringify({ type: 'fleet-summary', ...result }) : formatSummary(result));
    return result.exitCode;
  } finally {
    signals.dispose();
  }
}

export async function statusFleetCli(flags: CommonFlags): Promise<number> {
  requireFleetAlone(flags);
  const result = await statusFleet({ fleet: flags.fleet!, projectDir: flags.project, concurrency: flags.concurrency });
  processOutput.out(flags.json ? JSON.stringify(result, null, 2) : formatFleetStatus(result));
  return result.exitCode;
}

export async function verifyFleetCli(changeId: string, flags: CommonFlags & { batchSize?: number }): Promise<number> {
  requireFleetAlone(flags);
  const result = await verifyFleet({
    fleet: flags.fleet!,
    projectDir: flags.project,
    concurrency: flags.concurrency,
    changeId,
    batchSize: flags.batchSize,
  });
  processOutput.out(flags.json ? JSON.stringify(result) : formatFleetVerify(result));
  return result.exitCode;
}
