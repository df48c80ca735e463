import { RULE_NAMES, type CheckReport } from './types.js';

/** The documented JSON shape (docs/check.md): stable keys, null for what is not known. */
export interface CheckReportJson {
  base: { ref: string; sha: string } | null;
  violations: {
    rule: number;
    name: string;
    changeId: string | null;
    file: string;
    line: number | null;
    column: number | null;
    message: string;
    fix: string;
  }[];
  /** Reported, never failing: e.g. a hand-written migration whose number collides with another file's. */
  warnings: { file: string; message: string; fix: string }[];
  notes: string[];
  ok: boolean;
}

/** The report as the JSON `--format json` prints (and nothing else on stdout). */
export function toJson(report: CheckReport): CheckReportJson {
  return {
    base: report.base ? { ref: report.base.ref, sha: report.base.sha } : null,
    violations: report.violations.map((violation) => ({
      rule: violation.rule,
      name: RULE_NAMES[violation.rule],
      changeId: violation.changeId ?? null,
      file: violation.file,
      line: violation.line ?? null,
      column: violation.column ?? null,
      message: violation.message,
      fix: violation.fix,
    })),
    warnings: (report.warnings ?? []).map((warning) => ({
      file: warning.file,
      message: warning.message,
      fix: warning.fix,
    })),
    notes: report.notes,
    ok: report.ok,
  };
}

export function renderJson(report: CheckReport): string {
  return `${JSON.stringify(toJson(report), null, 2)}\n`;
}
