/**
 * The data `phasectl check` produces: violations of the release rules, the base it compared
 * against, and notes about rules it could not apply.
 */

/** 0 is "phases.yaml is valid"; 1–7 are the release rules of docs/check.md. */
export type RuleNumber = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** Short names printed next to the rule number. */
export const RULE_NAMES: Record<RuleNumber, string> = {
  0: 'valid phases.yaml',
  1: 'phases in order',
  2: 'one phase per release',
  3: 'one phase per pull request',
  4: 'generated files up to date',
  5: 'shipped files unchanged',
  6: 'old column unreferenced',
  7: 'previous phase shipped',
};

/** One broken rule, located as precisely as the rule allows. Paths are relative to the git repository root. */
export interface Violation {
  rule: RuleNumber;
  /** The change it concerns; undefined for problems not tied to one change (e.g. an unparseable phases.yaml). */
  changeId?: string;
  file: string;
  line?: number;
  column?: number;
  message: string;
  /** What to do about it. */
  fix: string;
}

/** The commit rules 3, 5, 6 and 7 compare HEAD with. */
export interface BaseRef {
  /** How the user (or the default) named it, e.g. `origin/main`, `v1.4.0`. */
  ref: string;
  /** The commit actually compared with: the merge base of HEAD and `ref`. */
  sha: string;
  /** `sha` abbreviated, for messages. */
  shortSha: string;
  /** How it was chosen, for the summary line, e.g. `merge base of HEAD and origin/main`. */
  description: string;
}

/** Something worth a look that breaks no rule (check still exits 0), e.g. a colliding migration number. */
export interface CheckWarning {
  /** Relative to the git repository root. */
  file: string;
  message: string;
  fix: string;
}

export interface CheckReport {
  base: BaseRef | null;
  violations: Violation[];
  /** Warnings: reported, never failing the check. */
  warnings?: CheckWarning[];
  /** Rules skipped and why, e.g. "no base ref: rules 3, 5 and 7 skipped". */
  notes: string[];
  /** Number of changes in HEAD's phases.yaml. */
  changeCount: number;
  ok: boolean;
  /** 0 clean, 1 violations, 2 phases.yaml itself is invalid. */
  exitCode: number;
}

/** Finds the line and column of a node of phases.yaml by its path, e.g. `['changes', 0, 'releases', 'phase2']`. */
export type Locate = (path: (string | number)[]) => { line: number; column: number } | undefined;

/** The first of `paths` that `locate` finds: the precise node when present, else its parent. */
export function locateFirst(locate: Locate, ...paths: (string | number)[][]): { line?: number; column?: number } {
  for (const candidate of paths) {
    const found = locate(candidate);
    if (found) return found;
  }
  return {};
}
