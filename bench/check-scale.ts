/**
 * Benchmark (not a test): `phasectl check` on a large repository — 500 changes, ~3,000 migration
 * files, 2,000 source files — a pull request that advances 100 changes by one phase (some of them into
 * phase 3, so rule 6 greps and finds the references the bench plants). Prints the time of `check` (median of 3 runs).
 *
 *   node --import tsx bench/check-scale.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { check } from '../src/commands/check.js';
import { generatedFiles } from '../src/generate/files.js';
import { parsePhasesText } from '../src/spec/load.js';

const CHANGES = 500;
const TARGET_MIGRATIONS = 3000;
const SOURCE_FILES = 2000;
const ADVANCED = 100;
const MIN_ENTERING_PHASE3 = 20;
const RELEASES = Array.from({ length: 12 }, (_unused, index) => `1.${index}.0`);

type Phases = { phase1?: string; phase2?: string; phase3?: string };

function phasesYaml(phases: Phases[]): string {
  const lines = ['version: 1', `releases: [${RELEASES.join(', ')}]`, 'changes:'];
  phases.forEach((releases, index) => {
    lines.push(
      `  - id: t${index}-title`,
      `    rename: { schema: public, table: t${index}, from: job_title_${index}, to: favourite_color_${index} }`,
      '    column: { type: text, nullable: true, indexes: [], constraints: [] }',
      '    key: { columns: [id], types: [bigint] }',
      `    releases: ${JSON.stringify(releases)}`,
    );
  });
  return `${lines.join('\n')}\n`;
}

function write(root: string, file: string, content: string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), content);
}

function writeProject(root: string, phases: Phases[]): number {
  const text = phasesYaml(phases);
  write(root, 'phases.yaml', text);
  const files = generatedFiles(parsePhasesText(text, 'phases.yaml').spec);
  for (const file of files) write(root, file.path, file.content);
  return files.filter((file) => file.path.startsWith('db/migrations/')).length;
}

/** Phase 1 everywhere, plus phase 2 for as many changes as it takes to reach about TARGET_MIGRATIONS files. */
function basePhases(): Phases[] {
  const phase1Files = generatedFiles(parsePhasesText(phasesYaml([{ phase1: '1.0.0' }]), 'x').spec).filter((file) =>
    file.path.startsWith('db/migrations/'),
  ).length;
  const phase2Files =
    generatedFiles(parsePhasesText(phasesYaml([{ phase1: '1.0.0', phase2: '1.1.0' }]), 'x').spec).filter((file) =>
      file.path.startsWith('db/migrations/'),
    ).length - phase1Files;
  const withPhase2 = Math.max(
    MIN_ENTERING_PHASE3,
    Math.min(CHANGES, Math.round((TARGET_MIGRATIONS - CHANGES * phase1Files) / Math.max(phase2Files, 1))),
  );
  return Array.from({ length: CHANGES }, (_unused, index) => {
    const first = index % 9;
    return index < withPhase2 ? { phase1: RELEASES[first], phase2: RELEASES[first + 1] } : { phase1: RELEASES[first] };
  });
}

/** Builds the repository, runs check three times, returns the median in milliseconds. */
export async function benchCheckScale(): Promise<{
  milliseconds: number;
  migrations: number;
  violations: number;
  otherThanRule6: number;
}> {
  const root = mkdtempSync(path.join(tmpdir(), 'phasectl-bench-check-'));
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
  try {
    git('init', '-q', '-b', 'main');
    git('config', 'user.name', 'bench');
    git('config', 'user.email', 'bench@phasectl.invalid');
    const base = basePhases();
    writeProject(root, base);
    for (let index = 0; index < SOURCE_FILES; index += 1) {
      const change = index % CHANGES;
      // Files naming columns of changes that stay in phase 1 or 2: grep finds them, rule 6 is not about them.
      write(
        root,
        `src/module${index % 40}/file${index}.ts`,
        `export function f${index}(row: Row) {\n  return row.job_title_${change} ?? row.favourite_color_${change};\n}\n`,
      );
    }
    git('add', '-A');
    git('commit', '-q', '-m', 'base');
    git('checkout', '-q', '-b', 'feature');
    const advanced = base.map((phases, index) => {
      if (index >= ADVANCED) return phases;
      const next = RELEASES[RELEASES.indexOf((phases.phase2 ?? phases.phase1)!) + 1];
      return phases.phase2 ? { ...phases, phase3: next } : { ...phases, phase2: next };
    });
    const migrations = writeProject(root, advanced);
    git('add', '-A');
    git('commit', '-q', '-m', 'advance');
    const times: number[] = [];
    let violations = 0;
    let otherThanRule6 = 0;
    for (let run = 0; run < 3; run += 1) {
      const started = performance.now();
      const report = await check({ projectDir: root, base: 'main' });
      times.push(performance.now() - started);
      violations = report.violations.length;
      otherThanRule6 = report.violations.filter((violation) => violation.rule !== 6).length;
    }
    times.sort((a, b) => a - b);
    return { milliseconds: Math.round(times[1]!), migrations, violations, otherThanRule6 };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await benchCheckScale();
  console.log(
    `check-scale: ${CHANGES} changes, ${result.migrations} migration files, ${SOURCE_FILES} source files, ${ADVANCED} changes advanced: ` +
      `check took ${result.milliseconds} ms (median of 3; ${result.violations - result.otherThanRule6} rule-6 hits expected for the changes entering phase 3, ${result.otherThanRule6} other violations, expected 0)`,
  );
}
