import { summaryLine } from './report-text.js';
import { RULE_NAMES, type CheckReport } from './types.js';

/** Workflow-command escaping of a message (GitHub Actions toolkit rules). */
export function escapeData(text: string): string {
  return text.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Workflow-command escaping of a property value: also `:` and `,`. */
export function escapeProperty(text: string): string {
  return escapeData(text).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/**
 * GitHub Actions annotations: one `::error file=…,line=…,col=…,title=phasectl rule N (name)::message (fix: …)`
 * per violation, `::notice::` per note, then the summary line.
 */
export function renderGithub(report: CheckReport): string {
  const lines = report.violations.map((violation) => {
    const properties = [`file=${escapeProperty(violation.file)}`];
    if (violation.line) properties.push(`line=${violation.line}`);
    if (violation.line && violation.column) properties.push(`col=${violation.column}`);
    properties.push(`title=${escapeProperty(`phasectl rule ${violation.rule} (${RULE_NAMES[violation.rule]})`)}`);
    const subject = violation.changeId ? `${violation.changeId}: ` : '';
    return `::error ${properties.join(',')}::${escapeData(`${subject}${violation.message} (fix: ${violation.fix})`)}`;
  });
  for (const warning of report.warnings ?? []) {
    lines.push(
      `::warning file=${escapeProperty(warning.file)},title=phasectl check::${escapeData(`${warning.message} (fix: ${warning.fix})`)}`,
    );
  }
  for (const note of report.notes) lines.push(`::notice title=phasectl check::${escapeData(note)}`);
  lines.push(summaryLine(report));
  return `${lines.join('\n')}\n`;
}

/** An error that stopped the check (exit 2), as an annotation so it shows on the pull request. */
export function githubErrorLine(message: string, hint?: string): string {
  return `::error title=phasectl check::${escapeData(`${message}${hint ? ` (fix: ${hint})` : ''}`)}`;
}
