import { style, type Style } from '../terminal/color.js';
import { RULE_NAMES, type BaseRef, type CheckReport, type Violation } from './types.js';

/** `file:line:col` (as much as is known). */
export function formatLocation(violation: Pick<Violation, 'file' | 'line' | 'column'>): string {
  return `${violation.file}${violation.line ? `:${violation.line}` : ''}${violation.line && violation.column ? `:${violation.column}` : ''}`;
}

/** `origin/main 1a2b3c4 (merge base of HEAD and origin/main)`, or `none`. */
export function describeBase(base: BaseRef | null): string {
  if (!base) return 'none';
  return `${base.ref} ${base.shortSha}${base.description === base.ref ? '' : ` (${base.description})`}`;
}

/** The one-line summary every format ends with. */
export function summaryLine(report: CheckReport): string {
  const base = `(base: ${describeBase(report.base)})`;
  if (report.ok) return `check: ok, ${plural(report.changeCount, 'change')} checked ${base}`;
  const changes = new Set(report.violations.map((violation) => violation.changeId).filter((id) => id !== undefined));
  return `check: ${plural(report.violations.length, 'violation')} in ${plural(changes.size, 'change')} ${base}`;
}

/**
 * Human-readable report: violations grouped per change, each as
 * `file:line:col  rule N (name)  message` and `    fix: …`, then notes and the summary line.
 * `paint` colours it for a terminal (plain by default).
 */
export function renderText(report: CheckReport, paint: Style = style(false)): string {
  const lines: string[] = [];
  const groups = new Map<string, Violation[]>();
  for (const violation of report.violations) {
    const key = violation.changeId ?? '';
    groups.set(key, [...(groups.get(key) ?? []), violation]);
  }
  for (const [changeId, violations] of groups) {
    lines.push(paint.bold(changeId === '' ? '(not tied to one change)' : changeId));
    for (const violation of violations) {
      lines.push(
        `  ${formatLocation(violation)}  ${paint.red(`rule ${violation.rule} (${RULE_NAMES[violation.rule]})`)}  ${violation.message}`,
      );
      lines.push(`      ${paint.cyan('fix:')} ${violation.fix}`);
    }
    lines.push('');
  }
  for (const warning of report.warnings ?? []) {
    lines.push(`${paint.yellow('warning:')} ${warning.file}  ${warning.message}`);
    lines.push(`      ${paint.cyan('fix:')} ${warning.fix}`);
  }
  for (const note of report.notes) lines.push(`${paint.yellow('note:')} ${note}`);
  lines.push(report.ok ? paint.green(summaryLine(report)) : paint.red(summaryLine(report)));
  return `${lines.join('\n')}\n`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
