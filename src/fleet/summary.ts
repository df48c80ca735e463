import { redactUrl } from '../db/url.js';
import type { BackfillProgress, StatusReport } from '../commands/status.js';

/** How one target ended: its files are all applied (`migrated`, `up-to-date`), or not (the rest). */
export type TargetOutcome = 'migrated' | 'up-to-date' | 'behind' | 'failed' | 'held' | 'stopped' | 'not-started';

export interface FleetTargetResult {
  target: string;
  /** host:port/database (never the URL: it may hold a password). */
  where: string;
  outcome: TargetOutcome;
  /** Files applied on this target by this run. */
  applied: number;
  /** The last release whose files (and every earlier release's) are all applied; null when none is, or unknown. */
  releaseReached: string | null;
  /** Up files still pending up to the release the run aimed at (null: unknown, the target could not be read). */
  pending: number | null;
  /** `done`, `-`, or the unfinished backfills (`users-job-title 43%`). */
  backfill: string;
  /** Time spent migrating this target (its `migrate` calls), in ms. */
  durationMs: number;
  /** Why it failed or is held (no password: URLs in messages are redacted). */
  reason?: string;
  exitCode?: number;
}

export interface FleetSummary {
  /** The release the run aimed at (--to-release, or the newest one with migration files). */
  release: string | undefined;
  targets: FleetTargetResult[];
  /** Targets with every file up to `release` applied. */
  upToDate: number;
  /** True when every target is up to date and every discovery answered: the application may deploy `release`. */
  safeToDeploy: boolean;
  /** `release 1.5.0 applied on 13 of 13 targets: safe to deploy 1.5.0`, or which targets hold it back. */
  line: string;
}

/** Pure: the summary of a fleet run from its per-target results. */
export function summarize(release: string | undefined, targets: FleetTargetResult[]): FleetSummary {
  const upToDate = targets.filter((t) => t.outcome === 'migrated' || t.outcome === 'up-to-date').length;
  const safeToDeploy = targets.length > 0 && upToDate === targets.length;
  return { release, targets, upToDate, safeToDeploy, line: safeLine(release, targets, upToDate) };
}

function safeLine(release: string | undefined, targets: FleetTargetResult[], upToDate: number): string {
  const name = release ?? '(no release)';
  const applied = `release ${name} applied on ${upToDate} of ${targets.length} target${targets.length === 1 ? '' : 's'}`;
  if (targets.length > 0 && upToDate === targets.length) return `${applied}: safe to deploy ${name}`;
  const behind = targets
    .filter((t) => t.outcome !== 'migrated' && t.outcome !== 'up-to-date')
    .map((t) => `${t.target} (${t.outcome})`);
  return `${applied}: NOT safe to deploy ${name}; held back by ${behind.join(', ')}`;
}

/** The last release all of whose up files — and all earlier releases' — are applied. Pure. */
export function releaseReached(
  releases: readonly string[],
  upFileReleases: ReadonlyMap<string, string | undefined>,
  pendingFiles: readonly string[],
): string | null {
  const pendingReleases = new Set(pendingFiles.map((name) => upFileReleases.get(name)));
  let reached: string | null = null;
  for (const release of releases) {
    if (pendingReleases.has(release)) break;
    reached = release;
  }
  return reached;
}

/** `done` when every up backfill finished, `-` when there is none, else each unfinished one with its percentage. Pure. */
export function backfillCell(report: StatusReport | undefined): string {
  if (!report) return '?';
  const ups = report.changes.flatMap((c) =>
    c.backfills.filter((b) => b.direction === 'up').map((b) => ({ id: c.id, b })),
  );
  if (ups.length === 0) return '-';
  const open = ups.filter(({ b }) => !b.finished);
  if (open.length === 0) return 'done';
  return open.map(({ id, b }) => `${id} ${percent(b)}`).join(', ');
}

export function percent(b: BackfillProgress): string {
  if (b.finished) return '100%';
  return b.rowsEstimated > 0 ? `${Math.min(99, Math.floor((b.rowsDone / b.rowsEstimated) * 100))}%` : '0%';
}

/** The summary as a table plus the closing line. Pure. */
export function formatSummary(summary: FleetSummary): string {
  const header = ['target', 'database', 'release', 'backfill', 'result', 'duration'];
  const rows = summary.targets.map((t) => [
    t.target,
    t.where,
    t.releaseReached ?? '-',
    t.backfill,
    t.outcome + (t.applied > 0 ? ` (${t.applied} file${t.applied === 1 ? '' : 's'})` : ''),
    seconds(t.durationMs),
  ]);
  const lines = table([header, ...rows]);
  const reasons = summary.targets.filter((t) => t.reason).map((t) => `  ${t.target}: ${t.reason}`);
  return [...lines, ...(reasons.length ? ['', ...reasons] : []), '', summary.line].join('\n');
}

/** Left-aligned columns separated by two spaces. Pure. */
export function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd(),
  );
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** A message with every postgres URL in it shown without its password. Pure. */
export function withoutPasswords(text: string): string {
  return text.replace(/postgres(?:ql)?:\/\/[^\s'"]+/g, (url) => redactUrl(url));
}
