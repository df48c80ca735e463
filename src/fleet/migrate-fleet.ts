import { isAbsolute, join } from 'node:path';
import { loadCheckedPhases } from '../commands/load-project.js';
import { InputError, PhasectlError, RuntimeFailure } from '../errors.js';
import { projectPaths } from '../project.js';
import { readMigrationFiles, type MigrationFile } from '../runner/migration-files.js';
import { migrate, requirePhasesFile, type RunOptions } from '../commands/migrate.js';
import { requireGeneratedMigrations } from '../runner/shipped-files.js';
import { checkRunOptions } from '../option-bounds.js';
import { status, type StatusReport } from '../commands/status.js';
import type { PhasesFile } from '../spec/types.js';
import type { FleetLog } from './events.js';
import { loadFleetFile, MAX_FLEET_CONCURRENCY } from './fleet-file.js';
import {
  describeHold,
  heldPhaseThrees,
  heldWithin,
  passLimit,
  type HeldPhaseThree,
  type TargetPhases,
} from './guard.js';
import { runPool } from './pool.js';
import {
  backfillCell,
  releaseReached,
  summarize,
  withoutPasswords,
  type FleetSummary,
  type FleetTargetResult,
} from './summary.js';
import { resolveTargets, type DiscoveryFailure, type FleetTarget } from './targets.js';

/** Options of a run over a fleet: the single-database options minus the URL, plus the fleet's. */
export interface FleetOptions {
  /** The fleet file; `true` or omitted path: fleet.yaml in the project directory. Relative paths: from the current directory. */
  fleet: string | true;
  projectDir?: string;
  /** Targets at a time (default: the file's `concurrency`, else 4). */
  concurrency?: number;
  /** Start no further target once one failed (running ones stop after their current file). */
  failFast?: boolean;
  /** Environment for ${VARIABLES} (default process.env). */
  env?: NodeJS.ProcessEnv;
  log?: FleetLog;
}

export interface FleetMigrateOptions extends FleetOptions, Omit<RunOptions, 'databaseUrl' | 'projectDir' | 'log'> {
  toRelease?: string;
  /** Refused with a fleet: print the SQL against one database instead. */
  dryRun?: boolean;
  /** Let phase 3 start on targets although others have not applied phase 2 (the fleet-wide guard). */
  allowPartialFleet?: boolean;
}

export interface FleetMigrateResult extends FleetSummary {
  /** Phase-3 steps the fleet-wide guard held back (empty when none, or with allowPartialFleet). */
  held: HeldPhaseThree[];
  /** 0 when every target is up to date; 3 when any failed or was held; 130/143 when stopped by a signal. */
  exitCode: number;
}

const DEFAULT_CONCURRENCY = 4;

/** The fix of a target stopped part-way (Ctrl-C, SIGTERM, --fail-fast): the next fleet run resumes it. */
const RESUME_FLEET =
  'run the same `phasectl migrate --fleet` again: each target resumes where it stopped (a backfill at its last committed batch)';

/** The fleet file's path: `true` means fleet.yaml beside phases.yaml. */
export function fleetFilePath(fleet: string | true, projectDir: string | undefined): string {
  if (fleet === true) return join(projectPaths(projectDir).root, 'fleet.yaml');
  return isAbsolute(fleet) ? fleet : join(process.cwd(), fleet);
}

/** What every fleet command checks before touching any database (exit 2, nothing migrated). */
export async function prepareFleet(options: FleetOptions): Promise<{
  spec: PhasesFile;
  files: MigrationFile[];
  targets: FleetTarget[];
  failures: DiscoveryFailure[];
  concurrency: number;
}> {
  if (
    options.concurrency !== undefined &&
    !(Number.isInteger(options.concurrency) && options.concurrency >= 1 && options.concurrency <= MAX_FLEET_CONCURRENCY)
  ) {
    throw new InputError(`concurrency ${options.concurrency} is out of range`, {
      hint: `give a whole number from 1 to ${MAX_FLEET_CONCURRENCY}`,
    });
  }
  const paths = projectPaths(options.projectDir);
  await requirePhasesFile(paths.phasesFile);
  const loaded = await loadCheckedPhases(paths.root);
  const files = await readMigrationFiles(paths.migrationsDir);
  requireGeneratedMigrations(loaded, files);
  const fleet = await loadFleetFile(fleetFilePath(options.fleet, options.projectDir), options.env ?? process.env);
  const { targets, failures } = await resolveTargets(fleet);
  return {
    spec: loaded.spec,
    files,
    targets,
    failures,
    concurrency: options.concurrency ?? fleet.concurrency ?? DEFAULT_CONCURRENCY,
  };
}

/**
 * `phasectl migrate --fleet`: the pending files on every target, `concurrency` at a time, each target with its own
 * lock, state and backfill (the single-database migrate). A failing target does not stop the others (unless
 * failFast). Phase 3 of a change runs nowhere while a target has not applied its phase 2 (unless allowPartialFleet):
 * the run goes up to the release before it, and on once the whole fleet has caught up. Never throws for a target's
 * failure: the result says which failed and why; bad input (fleet file, phases.yaml, options) throws InputError.
 */
export async function migrateFleet(options: FleetMigrateOptions): Promise<FleetMigrateResult> {
  checkRunOptions(options);
  if (options.dryRun)
    throw new InputError('--dry-run does not combine with --fleet', {
      hint: 'run `phasectl migrate --dry-run --database-url …` against one database of the fleet',
    });
  const log = options.log ?? (() => undefined);
  const { spec, files, targets, failures, concurrency } = await prepareFleet(options);
  const ups = files.filter((file) => file.direction === 'up');
  const fileReleases = new Map(ups.map((file) => [file.name, file.header?.release]));
  const fileReleaseNames = new Set(ups.flatMap((file) => (file.header ? [file.header.release] : [])));
  if (options.toRelease !== undefined && !fileReleaseNames.has(options.toRelease)) {
    throw new InputError(`no migration file belongs to release ${options.toRelease}`, {
      hint: `releases with migrations: ${[...fileReleaseNames].join(', ') || '(none)'}`,
    });
  }
  const aimedAt = options.toRelease ?? [...spec.releases].reverse().find((release) => fileReleaseNames.has(release));
  log({ type: 'fleet-targets', targets: targets.map((t) => ({ name: t.name, where: t.where })), concurrency });

  const results = new Map<string, FleetTargetResult>();
  const reports = new Map<string, StatusReport>();
  const started = new Map<string, number>();
  const applied = new Map<string, number>();
  const busyMs = new Map<string, number>();
  const stopFleet = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopFleet.signal]) : stopFleet.signal;
  // The target whose failure stopped the fleet (--fail-fast): the summary names it for the stopped and unstarted ones.
  let firstFailure: string | undefined;
  const failFastNote = () => `--fail-fast after ${firstFailure ?? 'a target'} failed`;
  const failed = (target: FleetTarget, error: unknown, outcome: 'failed' | 'stopped' = 'failed') => {
    const known =
      error instanceof PhasectlError
        ? error
        : new RuntimeFailure(error instanceof Error ? error.message : String(error));
    // Stopped by fail-fast, not by Ctrl-C: say why, and exit 3 like the failure that caused it (not 130).
    const byFailFast = outcome === 'stopped' && stopFleet.signal.aborted && !options.signal?.aborted;
    // A stopped target resumes with the fleet, not with the single-database command its own error names.
    const hint = outcome === 'stopped' ? RESUME_FLEET : known.hint;
    results.set(target.name, {
      ...emptyResult(target),
      outcome,
      reason:
        (byFailFast ? `stopped by ${failFastNote()}: ` : '') +
        withoutPasswords(known.message + (hint ? ` (fix: ${hint})` : '')),
      exitCode: byFailFast ? 3 : known.exitCode,
    });
    if (outcome === 'failed') firstFailure ??= target.name;
    if (options.failFast) stopFleet.abort('fail-fast');
  };
  const live = () => targets.filter((t) => !results.has(t.name));
  const readStates = async (list: FleetTarget[], markFailed = true) => {
    await runPool(list, concurrency, async (target) => {
      try {
        reports.set(target.name, await status({ databaseUrl: target.url, projectDir: options.projectDir }));
      } catch (error) {
        // A state read before the run is stale now (a server stopped mid-run): unknown, not what it was.
        reports.delete(target.name);
        if (markFailed) failed(target, error);
      }
    });
  };

  // Where each target stands decides what the fleet-wide guard holds back.
  await readStates(targets);
  const heldAtEnd: HeldPhaseThree[] = [];
  let previousLimit: string | undefined | null = null;
  for (;;) {
    const held = options.allowPartialFleet
      ? []
      : heldWithin(
          spec.releases,
          heldPhaseThrees(spec.changes, phaseStates(targets, reports, results, failures)),
          options.toRelease,
        );
    const limit = passLimit(spec.releases, held, options.toRelease);
    if (limit === previousLimit) {
      heldAtEnd.push(...held);
      break;
    }
    previousLimit = limit;
    for (const hold of held) log({ type: 'fleet-hold', hold, stopAt: limit });
    const list = live();
    await runPool(
      list,
      concurrency,
      async (target) => {
        if (!started.has(target.name)) started.set(target.name, Date.now());
        log({ type: 'target-start', target: target.name, where: target.where });
        const passStarted = Date.now();
        try {
          const result = await migrate({
            ...options,
            databaseUrl: target.url,
            projectDir: options.projectDir,
            toRelease: limit,
            signal,
            log: (event) => log({ type: 'target', target: target.name, event }),
          });
          applied.set(target.name, (applied.get(target.name) ?? 0) + result.applied.length);
        } catch (error) {
          failed(target, error, signal.aborted ? 'stopped' : 'failed');
        } finally {
          busyMs.set(target.name, (busyMs.get(target.name) ?? 0) + Date.now() - passStarted);
        }
      },
      () => signal.aborted,
    );
    await readStates(live());
    if (held.length === 0 || signal.aborted) break;
  }
  // Failed targets: their release and backfill as far as they can be read (an unreachable one stays unknown).
  await readStates(
    targets.filter((t) => results.has(t.name)),
    false,
  );

  const ordered: FleetTargetResult[] = [];
  for (const failure of failures) {
    ordered.push({
      target: failure.name,
      where: failure.where,
      outcome: 'failed',
      applied: 0,
      releaseReached: null,
      pending: null,
      backfill: '?',
      durationMs: 0,
      reason: withoutPasswords(failure.error.message),
      exitCode: failure.error.exitCode,
    });
  }
  for (const target of targets) {
    const report = reports.get(target.name);
    const pending = report ? pendingUpTo(report.pendingFiles, fileReleases, spec.releases, aimedAt) : null;
    const base = results.get(target.name) ?? emptyResult(target);
    const result: FleetTargetResult = {
      ...base,
      applied: applied.get(target.name) ?? 0,
      releaseReached: report
        ? releaseReached(
            spec.releases.filter((r) => fileReleaseNames.has(r)),
            fileReleases,
            report.pendingFiles,
          )
        : null,
      pending,
      backfill: backfillCell(report),
      durationMs: busyMs.get(target.name) ?? 0,
    };
    if (!results.has(target.name)) {
      const holds = heldAtEnd.filter(
        (hold) => (report?.changes.find((c) => c.id === hold.changeId)?.phaseInDatabase ?? 0) < 3,
      );
      if (!started.has(target.name)) {
        result.outcome = 'not-started';
        if (stopFleet.signal.aborted) Object.assign(result, { reason: `not started: ${failFastNote()}`, exitCode: 3 });
      } else if (pending !== 0 && holds.length > 0)
        Object.assign(result, { outcome: 'held', reason: holds.map(describeHold).join('; '), exitCode: 3 });
      else if (pending !== 0)
        Object.assign(result, { outcome: 'failed', reason: `${pending} file(s) still pending`, exitCode: 3 });
      else result.outcome = result.applied > 0 ? 'migrated' : 'up-to-date';
    }
    ordered.push(result);
    log({ type: 'target-done', result });
  }
  const summary = summarize(aimedAt, ordered);
  const interrupted = options.signal?.aborted ? (options.signal.reason === 'SIGTERM' ? 143 : 130) : undefined;
  return { ...summary, held: heldAtEnd, exitCode: summary.safeToDeploy ? 0 : (interrupted ?? 3) };
}

function emptyResult(target: FleetTarget): FleetTargetResult {
  return {
    target: target.name,
    where: target.where,
    outcome: 'up-to-date',
    applied: 0,
    releaseReached: null,
    pending: null,
    backfill: '?',
    durationMs: 0,
  };
}

/** What the guard needs: each target's phase per change, unknown for targets that failed or could not be discovered. */
function phaseStates(
  targets: FleetTarget[],
  reports: Map<string, StatusReport>,
  results: Map<string, FleetTargetResult>,
  failures: DiscoveryFailure[],
): TargetPhases[] {
  const states: TargetPhases[] = failures.map((failure) => ({
    target: failure.name,
    phases: null,
    reason: 'not discovered: the server did not answer',
  }));
  for (const target of targets) {
    const report = reports.get(target.name);
    const failure = results.get(target.name);
    if (!report || failure) {
      states.push({
        target: target.name,
        phases: null,
        reason: failure?.reason?.split('(fix:')[0]?.trim() ?? 'state unknown',
      });
      continue;
    }
    states.push({ target: target.name, phases: new Map(report.changes.map((c) => [c.id, c.phaseInDatabase ?? 0])) });
  }
  return states;
}

/** Pending up files that belong to releases up to `release` (unmanaged files without a release count too). Pure. */
function pendingUpTo(
  pending: readonly string[],
  fileReleases: ReadonlyMap<string, string | undefined>,
  releases: readonly string[],
  release: string | undefined,
): number {
  const end = release === undefined ? releases.length - 1 : releases.indexOf(release);
  return pending.filter((name) => {
    const of = fileReleases.get(name);
    return of === undefined || releases.indexOf(of) <= end;
  }).length;
}
