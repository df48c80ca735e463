import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { generatedFiles } from '../../src/generate/files.js';
import { parsePhasesText } from '../../src/spec/load.js';
import type { PhasesFile } from '../../src/spec/types.js';
import { repoRoot } from '../support/cli.js';

/**
 * squawk (the PostgreSQL migration linter, npm `squawk-cli`) over every migration phasectl generates for this
 * repository's fixtures: a rename with NOT NULL, a type change, a move, and the move again with NOT NULL.
 * The only findings allowed are the intended ones, each silenced in the file by a `squawk-ignore` comment
 * under a comment that says why (docs/linting.md).
 */
const squawk = join(repoRoot, 'node_modules/.bin/squawk');
const work = mkdtempSync(join(tmpdir(), 'phasectl-squawk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** What each intended finding may be, and in which files. */
const INTENDED: Record<string, RegExp> = {
  // the contract drops the old column; a phase-1 down drops the column phase 1 added
  'ban-drop-column': /_p3_\d+_contract\.up\.sql$|_p1_\d+_shrink\.down\.sql$/,
  // phase 3 down makes the new column nullable again, as in phase 2
  'ban-drop-not-null': /_p3_\d+_restore-column\.down\.sql$/,
  // phasectl's own state tables: a phase number stays an int (every expand file creates them if missing)
  'prefer-bigint-over-int': /_p1_01_expand\.up\.sql$/,
  // a partitioned table: the index ON ONLY the parent builds nothing (each partition's is built concurrently) …
  'require-concurrent-index-creation': /_p1_\d+_indexes\.up\.sql$|_p3_\d+_restore-indexes\.down\.sql$/,
  // … and a partitioned index cannot be dropped concurrently (the drop is catalog only)
  'require-concurrent-index-deletion': /_p1_\d+_drop-indexes\.down\.sql$/,
};

interface Finding {
  file: string;
  line: number;
  rule_name: string;
  message: string;
}

function fixtureSpecs(): Record<string, PhasesFile> {
  const spec = parsePhasesText(readFileSync(join(repoRoot, 'phases.yaml'), 'utf8'), 'phases.yaml').spec;
  const moveNotNull = structuredClone(spec);
  for (const change of moveNotNull.changes) if (change.kind === 'move') change.column.nullable = false;
  expect(moveNotNull.changes.some((change) => change.kind === 'move')).toBe(true);
  // The same renames on partitioned tables (issue 13): indexes ON ONLY the parent, built per partition.
  const partitioned = structuredClone(spec);
  for (const change of partitioned.changes) if (change.kind === 'rename') change.rename.partitioned = true;
  for (const change of partitioned.changes)
    for (const index of change.column.indexes)
      index.definition = index.definition.replace(/ ON (?!ONLY )/, ' ON ONLY ');
  return { repository: spec, 'move-not-null': moveNotNull, partitioned };
}

/** Writes the generated migrations of `spec` under `work/<name>`; returns their paths. */
function writeMigrations(name: string, spec: PhasesFile, strip: boolean): string[] {
  const paths: string[] = [];
  for (const file of generatedFiles(spec)) {
    if (!file.path.startsWith('db/migrations/') || !file.path.endsWith('.sql')) continue;
    const path = join(work, strip ? `${name}-stripped` : name, file.path);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, strip ? file.content.replace(/^ *-- squawk-ignore .*\n/gm, '') : file.content);
    paths.push(path);
  }
  return paths;
}

/** squawk's findings over `paths`; files that run in a transaction (header) are linted as such. */
function lint(paths: string[]): Finding[] {
  const inTransaction = paths.filter((path) => /^-- phasectl .* transaction=true /.test(readFileSync(path, 'utf8')));
  const outside = paths.filter((path) => !inTransaction.includes(path));
  const run = (files: string[], flags: string[]): Finding[] => {
    if (files.length === 0) return [];
    let output: string;
    try {
      output = execFileSync(squawk, ['--reporter', 'json', ...flags, ...files], {
        encoding: 'utf8',
        env: { ...process.env, NO_COLOR: '1' },
      });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout ?? '');
      if (!output.trim().startsWith('[')) throw error;
    }
    return JSON.parse(output) as Finding[];
  };
  return [...run(inTransaction, ['--assume-in-transaction']), ...run(outside, [])];
}

describe('squawk over the generated migrations', () => {
  for (const [name, spec] of Object.entries(fixtureSpecs())) {
    test(`${name}: no finding except the intended ones, each silenced under an explanation`, () => {
      const paths = writeMigrations(name, spec, false);
      expect(paths.length).toBeGreaterThan(10);
      expect(lint(paths)).toEqual([]);

      // Each squawk-ignore is an intended finding, in the files it belongs to, with a comment that says why above it.
      for (const path of paths) {
        const lines = readFileSync(path, 'utf8').split('\n');
        lines.forEach((line, index) => {
          const rule = /^ *-- squawk-ignore (\S+)$/.exec(line)?.[1];
          if (rule === undefined) return;
          expect(Object.keys(INTENDED), `${path}:${index + 1}`).toContain(rule);
          expect(path, rule).toMatch(INTENDED[rule]!);
          expect(lines[index - 1], `${path}:${index + 1}: explain the ${rule}`).toMatch(/^ *-- /);
        });
      }

      // Without the comments, squawk finds exactly the intended findings (the comments hide nothing else).
      const stripped = lint(writeMigrations(name, spec, true));
      expect(stripped.length).toBeGreaterThan(0);
      for (const finding of stripped) {
        expect(
          Object.keys(INTENDED),
          `${finding.file}:${finding.line} ${finding.rule_name}: ${finding.message}`,
        ).toContain(finding.rule_name);
        expect(finding.file).toMatch(INTENDED[finding.rule_name]!);
      }
    });
  }
});
