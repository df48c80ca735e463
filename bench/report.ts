import { writeFile } from 'node:fs/promises';

/**
 * One line of the benchmark table. `value` is phasectl's figure; `baseline` the figure it is compared
 * with; `ratio` is computed so that higher is better (baseline time / phasectl time, or phasectl
 * throughput / baseline throughput); `target` is checked against `ratio` when present, else `value`.
 */
export interface BenchRow {
  section: string;
  metric: string;
  value: number;
  unit: string;
  baseline?: number;
  baselineLabel?: string;
  ratio?: number;
  /** Human text of the target, e.g. `≥ 0.90` or `≤ 150 ms`; absent for figures given for information. */
  target?: string;
  status: 'PASS' | 'MISS' | 'INFO';
  note?: string;
}

/** A row checked against `target` with `pass` (true → PASS, false → MISS). */
export function checked(row: Omit<BenchRow, 'status'>, pass: boolean): BenchRow {
  return { ...row, status: pass ? 'PASS' : 'MISS' };
}

/** A row with no target: a figure given for information. */
export function info(row: Omit<BenchRow, 'status' | 'target'>): BenchRow {
  return { ...row, status: 'INFO' };
}

function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** The rows as a fixed-width text table, one section after the other, notes under their row. */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['metric', 'phasectl', 'baseline', 'ratio', 'target', 'result'];
  const cells = rows.map((row) => [
    row.metric,
    `${formatNumber(row.value)} ${row.unit}`,
    row.baseline === undefined
      ? ''
      : `${formatNumber(row.baseline)} ${row.unit}${row.baselineLabel ? ` (${row.baselineLabel})` : ''}`,
    row.ratio === undefined ? '' : row.ratio.toFixed(2),
    row.target ?? '',
    row.status,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const line = (values: string[]) =>
    values
      .map((value, column) => value.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  const out: string[] = [];
  let section = '';
  rows.forEach((row, index) => {
    if (row.section !== section) {
      section = row.section;
      out.push('', `== ${section}`, line(header), widths.map((width) => '-'.repeat(width)).join('  '));
    }
    out.push(line(cells[index]!));
    if (row.note) out.push(`    ${row.note}`);
  });
  return out.join('\n');
}

/** Writes the run (environment + rows) as JSON for comparison across commits. */
export async function writeResults(
  file: string,
  run: Record<string, unknown>,
  rows: readonly BenchRow[],
): Promise<void> {
  await writeFile(file, `${JSON.stringify({ ...run, rows }, null, 2)}\n`);
}
