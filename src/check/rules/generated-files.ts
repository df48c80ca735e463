import { changeIdFromHeader, changeIdFromPath, looksGenerated } from '../../migration-file/header.js';
import { firstDifferentLine, normalizeLineEndings } from '../../migration-file/text-diff.js';
import type { Violation } from '../types.js';

/** What src/generate/version-judge.ts found about a file on disk that differs (only `refused` matters here). */
interface GeneratedFileJudgement {
  kind: 'kept' | 'refused';
  message: string;
  fix?: string;
  line?: number;
}

const REGENERATE = 'run `phasectl generate` and commit the result (generated files are never edited by hand)';

/**
 * Rule 4: the files under db/ are exactly what phasectl generates from HEAD's phases.yaml —
 * none changed (hand-edited or stale), none missing, no phasectl file that is not generated anymore.
 * `present` maps every working-tree file under db/ to its text (files without phasectl's header that are
 * not expected are the team's own and are left alone).
 */
export function generatedFileViolations(input: {
  /** `judgement`: set when the file on disk differs (src/generate/version-judge.ts); its reason is reported. */
  expected: { path: string; content: string; judgement?: GeneratedFileJudgement }[];
  present: Map<string, string>;
}): Violation[] {
  const violations: Violation[] = [];
  const expectedPaths = new Set<string>();
  for (const file of input.expected) {
    expectedPaths.add(file.path);
    const changeId = changeIdFromHeader(file.content) ?? changeIdFromPath(file.path);
    const actual = input.present.get(file.path);
    if (actual === undefined) {
      violations.push({
        rule: 4,
        changeId,
        file: file.path,
        message: 'is missing: phasectl generates it from phases.yaml',
        fix: REGENERATE,
      });
      continue;
    }
    const line = firstDifferentLine(normalizeLineEndings(file.content), normalizeLineEndings(actual));
    if (line !== undefined) {
      // A version judgement's refusal says why better than the plain difference.
      const refused = file.judgement?.kind === 'refused' ? file.judgement : undefined;
      violations.push({
        rule: 4,
        changeId,
        file: file.path,
        line: refused?.line ?? line,
        column: 1,
        message:
          refused?.message ??
          `differs from what phasectl generates from phases.yaml (from line ${line} on): edited by hand, or stale after a phases.yaml change`,
        fix: refused?.fix ?? REGENERATE,
      });
    }
  }
  for (const [path, content] of input.present) {
    if (expectedPaths.has(path) || !looksGenerated(content)) continue;
    violations.push({
      rule: 4,
      changeId: changeIdFromHeader(content) ?? changeIdFromPath(path),
      file: path,
      line: 1,
      column: 1,
      message:
        "carries phasectl's header, but phases.yaml does not generate it (left over, renamed, or written by hand)",
      fix: 'delete it (or restore the phases.yaml entry it belongs to), then run `phasectl generate` and commit',
    });
  }
  return violations;
}
