import { ExitCode, PhasectlError } from '../errors.js';
import { verify, type VerifyCommandOptions } from '../commands/backfill.js';
import { status, type ChangeStatus, type StatusReport } from '../commands/status.js';
import type { FleetLog } from './events.js';
import { prepareFleet, type FleetOptions } from './migrate-fleet.js';
import { runPool } from './pool.js';
import {
  backfillCell,
  percent,
  releaseReached,
  summarize,
  table,
  withoutPasswords,
  type FleetSummary,
  type FleetTargetResult,
} from './summary.js';

export interface FleetStatusOptions extends FleetOptions {
  /** The release the "safe to deploy" line is about (default: the newest one with migration files). */
  toRelease?: string;
}

export interface FleetStatusResult extends FleetSummary {
  /** Change ids of phases.yaml, the matrix's columns. */
  changes: string[];
  /** Each target's full report (absent when it could not be read). */
  reports: Record<string, StatusReport>;
  /** 0 when every target could be read, 3 otherwise. */
  exitCode: number;
}

/** `phasectl status --fleet`: every target's status (read-only), the targets × changes matrix and the safe-to-deploy line. */
export async function statusFleet(options: FleetStatusOptions): Promise<FleetStatusResult> {
  const log: FleetLog = options.log ?? (() => undefined);
  const { spec, files, targets, failures, concurrency } = await prepareFleet(options);
  const ups = files.filter((file) => file.direction === 'up');
  const fileReleases = new Map(ups.map((file) => [file.name, file.header?.release]));
  const withFiles = spec.releases.filter((release) => ups.some((file) => file.header?.release === release));
  const aimedAt = options.toRelease ?? withFiles.at(-1);
  const end = aimedAt === undefined ? -1 : spec.releases.indexOf(aimedAt);
  const reports: Record<string, StatusReport> = {};
  const results = await runPool(targets, concurrency, async (target): Promise<FleetTargetResult> => {
    const started = Date.now();
    log({ type: 'target-start', target: target.name, where: target.where });
    const base = { target: target.name, where: target.where, applied: 0, durationMs: 0 };
    let result: FleetTargetResult;
    try {
      const report = await status({ databaseUrl: target.url, projectDir: options.projectDir });
      reports[target.name] = report;
      const pending = report.pendingFiles.filter((name) => {
        const release = fileReleases.get(name);
        return release === undefined || spec.releases.indexOf(release) <= end;
      }).length;
      result = {
        ...base,
        outcome: pending === 0 ? 'up-to-date' : 'behind',
        pending,
        releaseReached: releaseReached(withFiles, fileReleases, report.pendingFiles),
        backfill: backfillCell(report),
        durationMs: Date.now() - started,
      };
    } catch (error) {
      result = {
        ...base,
        outcome: 'failed',
        pending: null,
        releaseReached: null,
        backfill: '?',
        reason: reasonOf(error),
        exitCode: exitOf(error),
        durationMs: Date.now() - started,
      };
    }
    log({ type: 'target-done', result });
    return result;
  });
  const rows: FleetTargetResult[] = [
    ...failures.map((f): FleetTargetResult => ({
      target: f.name,
      where: f.where,
      outcome: 'failed',
      applied: 0,
      pending: null,
      releaseReached: null,
      backfill: '?',
      durationMs: 0,
      reason: withoutPasswords(f.error.message),
      exitCode: f.error.exitCode,
    })),
    ...results.map((r) => r!),
  ];
  const summary = summarize(aimedAt, rows);
  return {
    ...summary,
    changes: spec.changes.map((c) => c.id),
    reports,
    exitCode: rows.some((r) => r.outcome === 'failed') ? ExitCode.failure : ExitCode.ok,
  };
}

/** One matrix cell: the phase in the database, an unfinished backfill, drift. Pure. */
export function matrixCell(change: ChangeStatus | undefined): string {
  if (!change) return '?';
  const parts = [`phase ${change.phaseInDatabase ?? 0}`];
  const open = change.backfills.find((b) => b.direction === 'up' && !b.finished);
  if (open) parts.push(`backfill ${percent(open)}`);
  if (change.verification && change.verification.differing > 0) parts.push(`${change.verification.differing} differ`);
  const drift = change.drift.filter((d) => !/not applied yet$/.test(d));
  if (drift.length) parts.push(`drift ${drift.length}`);
  return parts.join(', ');
}

/** The targets × changes matrix, the drift of each target, and the safe-to-deploy line. Pure. */
export function formatFleetStatus(result: FleetStatusResult): string {
  const header = ['target', 'release', ...result.changes];
  const rows = result.targets.map((t) => {
    const report = result.reports[t.target];
    return [
      t.target,
      t.releaseReached ?? '-',
      ...result.changes.map((id) => (report ? matrixCell(report.changes.find((c) => c.id === id)) : t.outcome)),
    ];
  });
  const notes: string[] = [];
  for (const t of result.targets) {
    if (t.reason) notes.push(`  ${t.target}: ${t.reason}`);
    const report = result.reports[t.target];
    for (const change of report?.changes ?? []) {
      for (const drift of change.drift.filter((d) => !/not applied yet$/.test(d)))
        notes.push(`  ${t.target} ${change.id}: drift: ${drift}`);
    }
    if (t.outcome === 'behind')
      notes.push(`  ${t.target}: ${t.pending} file(s) pending (next: phasectl migrate --fleet)`);
  }
  return [...table([header, ...rows]), ...(notes.length ? ['', ...notes] : []), '', result.line].join('\n');
}

export interface FleetVerifyResult {
  changeId: string;
  targets: { target: string; where: string; differing: number | null; reason?: string; durationMs: number }[];
  /** `users-job-title: 0 differing rows on 13 of 13 targets`, or the targets that differ or failed. */
  line: string;
  /** 0 when no target has a differing row, 1 when one has, 3 when a target could not be verified. */
  exitCode: number;
}

/** `phasectl verify <change> --fleet`: the verification on every target (each records its result, as `verify` does). */
export async function verifyFleet(
  options: FleetOptions & Pick<VerifyCommandOptions, 'changeId' | 'batchSize'>,
): Promise<FleetVerifyResult> {
  const log: FleetLog = options.log ?? (() => undefined);
  const { targets, failures, concurrency } = await prepareFleet(options);
  const rows = await runPool(targets, concurrency, async (target) => {
    const started = Date.now();
    log({ type: 'target-start', target: target.name, where: target.where });
    try {
      const result = await verify({
        databaseUrl: target.url,
        projectDir: options.projectDir,
        changeId: options.changeId,
        batchSize: options.batchSize,
        log: (event) => log({ type: 'target', target: target.name, event }),
      });
      return {
        target: target.name,
        where: target.where,
        differing: result.differing,
        durationMs: Date.now() - started,
      };
    } catch (error) {
      return {
        target: target.name,
        where: target.where,
        differing: null,
        reason: reasonOf(error),
        durationMs: Date.now() - started,
      };
    }
  });
  const all = [
    ...failures.map((f) => ({
      target: f.name,
      where: f.where,
      differing: null,
      reason: withoutPasswords(f.error.message),
      durationMs: 0,
    })),
    ...rows.map((r) => r!),
  ];
  const clean = all.filter((r) => r.differing === 0).length;
  const differ = all.filter((r) => r.differing !== null && r.differing > 0);
  const broken = all.filter((r) => r.differing === null);
  const problems = [
    ...differ.map((r) => `${r.target} (${r.differing} differing)`),
    ...broken.map((r) => `${r.target} (not verified)`),
  ];
  const line = `${options.changeId}: 0 differing rows on ${clean} of ${all.length} target${all.length === 1 ? '' : 's'}${problems.length ? `; ${problems.join(', ')}` : ''}`;
  return {
    changeId: options.changeId,
    targets: all,
    line,
    exitCode: broken.length ? ExitCode.failure : differ.length ? ExitCode.problems : ExitCode.ok,
  };
}

export function formatFleetVerify(result: FleetVerifyResult): string {
  const rows = result.targets.map((t) => [
    t.target,
    t.where,
    t.differing === null ? 'failed' : `${t.differing} differing`,
    `${(t.durationMs / 1000).toFixed(1)} s`,
  ]);
  const reasons = result.targets.filter((t) => t.reason).map((t) => `  ${t.target}: ${t.reason}`);
  return [
    ...table([['target', 'database', 'result', 'duration'], ...rows]),
    ...(reasons.length ? ['', ...reasons] : []),
    '',
    result.line,
  ].join('\n');
}

function reasonOf(error: unknown): string {
  if (error instanceof PhasectlError)
    return withoutPasswords(error.message + (error.hint ? ` (fix: ${error.hint})` : ''));
  return withoutPasswords(error instanceof Error ? error.message : String(error));
}

function exitOf(error: unknown): number {
  return error instanceof PhasectlError ? error.exitCode : ExitCode.failure;
}
