import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../errors.js';
import { projectGenerationSettings } from '../generate/project-settings.js';
import { generatedFiles } from '../generate/files.js';
import { keptSummary } from '../generate/version-judge.js';
import { changeIdFromPath, definitionPhase } from '../migration-file/header.js';
import { ledgerViolations } from '../releases/rules.js';
import { parsePhasesText, type LoadedPhases } from '../spec/load.js';
import { allChanges, currentPhase, type PhasesFile } from '../spec/types.js';
import { resolveBase } from '../check/base.js';
import { GitRepository } from '../check/git.js';
import { sourcePathspecs } from '../check/pathspecs.js';
import { teamMigrationHits } from '../check/team-migrations.js';
import { nameForms } from '../check/references.js';
import { generatedFileViolations } from '../check/rules/generated-files.js';
import { firstDifferentLine } from '../migration-file/text-diff.js';
import { ledgerRuleViolations } from '../check/rules/ledger.js';
import { oldColumnReferenceViolations, type DroppedColumn } from '../check/rules/old-column-references.js';
import { phaseStepViolations } from '../check/rules/phase-step.js';
import { releaseTagName, releaseTagViolations } from '../check/rules/release-tags.js';
import { shippedFileViolations } from '../check/rules/shipped-files.js';
import { migrationNumberWarnings } from '../check/rules/migration-numbers.js';
import type { BaseRef, CheckReport, Violation } from '../check/types.js';
import { droppedColumn } from '../spec/change-columns.js';

export interface CheckOptions {
  /** The folder holding phases.yaml and db/ (anywhere inside a git working tree). */
  projectDir: string;
  /** Ref to compare HEAD with; default: the merge base with origin/main, else the newest `releaseTags` tag. */
  base?: string;
  /** Glob of release tags, `*` standing for the release name (e.g. `v*`): enables rule 7. */
  releaseTags?: string;
}

/** The generated files live here, relative to the project directory. */
const GENERATED_DIR = 'db';

/** How many edited shipped files get their first changed line looked up (one `git cat-file` each). */
const LOCATE_EDITS_LIMIT = 50;

/**
 * The CI gate: checks HEAD's working tree against the release rules (docs/check.md) and returns every
 * violation. Throws InputError (exit 2) when the project is not in a git repository, phases.yaml is missing
 * or the base cannot be found (saying what to fetch); an invalid phases.yaml is reported as a rule-0 violation
 * with exit code 2.
 *
 * @example
 * ```ts
 * import { check } from 'phasectl';
 *
 * const report = await check({ projectDir: '.', base: 'origin/main' });
 * if (!report.ok) for (const v of report.violations) console.error(`${v.file}:${v.line ?? 1} ${v.message}`);
 * ```
 */
export async function check(options: CheckOptions): Promise<CheckReport> {
  if (options.releaseTags) releaseTagName(options.releaseTags, 'release'); // reject a pattern without * before any work
  const git = await GitRepository.open(options.projectDir);
  const phasesPath = `${git.prefix}phases.yaml`;
  const textPromise = readFile(path.join(git.root, phasesPath), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') {
      throw new InputError(`no phases.yaml in ${path.join(git.root, git.prefix)}`, {
        hint: 'pass --project <dir> naming the folder that holds phases.yaml, or create it with `phasectl init`',
      });
    }
    throw error;
  });
  // git runs in other processes: its commands start as early as possible and overlap with the parsing and
  // rendering here. Their failures are reported in the same order as when they ran one after the other.
  const basePromise = handledLater(resolveBase(git, options));
  const dbFilesPromise = handledLater(git.workingFiles(`${git.prefix}${GENERATED_DIR}`));
  const text = await textPromise;

  let head: LoadedPhases | undefined;
  let headError: unknown;
  try {
    head = parsePhasesText(text, phasesPath);
  } catch (error) {
    headError = error;
  }
  const { base, notes } = await basePromise;
  if (!head) {
    if (!(headError instanceof InputError)) throw headError;
    const invalid: Violation = {
      rule: 0,
      file: headError.location?.file ?? phasesPath,
      line: headError.location?.line,
      column: headError.location?.column,
      message: headError.message,
      fix: headError.hint ?? 'fix phases.yaml (its format: docs/internals.md in the phasectl package)',
    };
    return {
      base,
      violations: [invalid],
      notes: [...notes, 'phases.yaml is invalid: the release rules were not checked'],
      changeCount: 0,
      ok: false,
      exitCode: 2,
    };
  }

  const baseLabel = base ? `${base.ref} ${base.shortSha}` : '';
  const baseSpecPromise = base ? loadBaseSpec(git, base, phasesPath, notes) : Promise.resolve(undefined);
  const shippedPromise = handledLater(
    base
      ? Promise.all([dbFilesPromise, baseSpecPromise]).then(([files, baseSpec]) =>
          checkShippedFiles(git, base, baseLabel, files, baseSpec),
        )
      : Promise.resolve([]),
  );
  const baseSpec = await baseSpecPromise;
  const violations: Violation[] = [...ledgerRuleViolations(ledgerViolations(head.spec), phasesPath, head.locate)];

  if (base && baseSpec) {
    violations.push(
      ...phaseStepViolations({
        base: baseSpec,
        head: head.spec,
        phasesFile: phasesPath,
        locate: head.locate,
        baseLabel,
      }),
    );
  }

  const dbFiles = await dbFilesPromise;
  // The git processes start first, so they run while this process renders every expected file (CPU-bound).
  const referencesPromise = checkReferences(git, head.spec, base, baseSpec, baseLabel, notes);
  const tagsPromise = options.releaseTags
    ? checkReleaseTags(git, head, baseSpec, options.releaseTags, phasesPath)
    : Promise.resolve([]);
  const generatedPromise = checkGeneratedFiles(git, head, dbFiles);
  const [generated, shipped, references, tags] = await Promise.all([
    generatedPromise,
    shippedPromise,
    referencesPromise,
    tagsPromise,
  ]);
  violations.push(...generated.violations, ...shipped, ...references, ...tags);
  notes.push(...generated.kept.notes);
  if (!options.releaseTags)
    notes.push('rule 7 (previous phase shipped) is off: pass --release-tags <pattern>, e.g. "v*"');

  violations.sort(compareViolations);
  const warnings = [
    ...generated.kept.warnings.map((warning) => ({
      file: warning.path,
      message: warning.message,
      fix: 'nothing to do if nobody edited it (`git log -p -- <file>` shows its history): phasectl cannot tell a template change from a hand edit in a file without a digest',
    })),
    ...migrationNumberWarnings(dbFiles, `${git.prefix}${GENERATED_DIR}/migrations`),
  ];
  return {
    base,
    violations,
    warnings,
    notes,
    changeCount: head.spec.changes.length,
    ok: violations.length === 0,
    exitCode: violations.length === 0 ? 0 : 1,
  };
}

/** `promise`, with a handler attached so that its failure is not "unhandled" while an earlier step fails first. */
function handledLater<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** phases.yaml at the base; an empty ledger when the base has none (the project adopted phasectl in this pull request). */
async function loadBaseSpec(
  git: GitRepository,
  base: BaseRef,
  phasesPath: string,
  notes: string[],
): Promise<PhasesFile | undefined> {
  const text = await git.showFile(base.sha, phasesPath);
  if (text === undefined)
    return {
      version: 1,
      releases: [],
      migrations: { format: 'sql' },
      check: { sourceGlobs: [], ignoreGlobs: [] },
      changes: [],
    };
  try {
    return parsePhasesText(text, `${base.ref}:${phasesPath}`).spec;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    notes.push(
      `phases.yaml at the base (${base.ref} ${base.shortSha}) is invalid (${error.message}): rules 3 and 7 were checked without it`,
    );
    return undefined;
  }
}

/** `files`: the working tree's files under db/ (tracked or not, deleted ones left out). */
async function checkGeneratedFiles(
  git: GitRepository,
  head: LoadedPhases,
  files: string[],
): Promise<{ violations: Violation[]; kept: ReturnType<typeof keptSummary> }> {
  // The project's own templates and timeouts (phases.yaml `migrations:`), as generate and advance use them.
  const settings = projectGenerationSettings(head, path.join(git.root, git.prefix));
  // Thousands of small files: synchronous reads cost a fraction of as many promise round trips.
  const present = new Map(files.map((file) => [file, readFileSync(path.join(git.root, file), 'utf8')]));
  // Files another phasectl version wrote are judged by their headers' digests (src/generate/version-judge.ts).
  const generated = generatedFiles(head.spec, { settings, existing: (file) => present.get(`${git.prefix}${file}`) });
  const expected = generated.map((file) => ({ ...file, path: `${git.prefix}${file.path}` }));
  return { violations: generatedFileViolations({ expected, present }), kept: keptSummary(expected) };
}

async function checkShippedFiles(
  git: GitRepository,
  base: BaseRef,
  baseLabel: string,
  files: string[],
  baseSpec: PhasesFile | undefined,
): Promise<Violation[]> {
  const baseBlobs = unshippedDefinitionsLeftOut(
    await git.treeBlobs(base.sha, `${git.prefix}${GENERATED_DIR}`),
    baseSpec,
  );
  const present = new Set(files);
  const working = await git.hashWorkingFiles([...baseBlobs.keys()].filter((file) => present.has(file)));
  const edited = [...working].filter(([file, blob]) => baseBlobs.get(file) !== blob).slice(0, LOCATE_EDITS_LIMIT);
  const firstChangedLine = new Map<string, number>();
  await Promise.all(
    edited.map(async ([file]) => {
      const before = await git.showFile(base.sha, file);
      const now = await readFile(path.join(git.root, file), 'utf8');
      const line = before === undefined ? undefined : firstDifferentLine(before, now);
      if (line !== undefined) firstChangedLine.set(file, line);
    }),
  );
  return shippedFileViolations({ base: baseBlobs, working, baseLabel, baseCommit: base.shortSha, firstChangedLine });
}

/**
 * Rule 5 leaves out the function and trigger files of a phase the base's phases.yaml puts in no release: they are
 * reviewable copies that no shipped migration ran yet, rendered anew by each phasectl version until their phase is
 * advanced (docs/design-notes.md, "Files written by another phasectl version").
 */
function unshippedDefinitionsLeftOut(
  blobs: Map<string, string>,
  baseSpec: PhasesFile | undefined,
): Map<string, string> {
  if (!baseSpec) return blobs;
  const ledger = new Map(allChanges(baseSpec).map((change) => [change.id, change.releases]));
  return new Map(
    [...blobs].filter(([file]) => {
      const phase = definitionPhase(file);
      const changeId = changeIdFromPath(file);
      if (phase === undefined || changeId === undefined) return true;
      return ledger.get(changeId)?.[`phase${phase}`] !== undefined;
    }),
  );
}

/**
 * Rule 6 for the changes entering phase 3. Without a base, "entering" means: phase 3 is in the newest
 * release of the ledger (a finished rename whose old name comes back later is not this rule's business).
 */
async function checkReferences(
  git: GitRepository,
  head: PhasesFile,
  base: BaseRef | null,
  baseSpec: PhasesFile | undefined,
  baseLabel: string,
  notes: string[],
): Promise<Violation[]> {
  const basePhases = new Map((baseSpec ? allChanges(baseSpec) : []).map((change) => [change.id, currentPhase(change)]));
  const newestRelease = head.releases.at(-1);
  const dropped: DroppedColumn[] = allChanges(head)
    .filter((change) => currentPhase(change) === 3)
    .filter((change) => (baseSpec ? (basePhases.get(change.id) ?? 0) < 3 : change.releases.phase3 === newestRelease))
    .map((change) => {
      const dropped = droppedColumn(change);
      return { changeId: change.id, table: `${dropped.schema}.${dropped.table}`, column: dropped.column };
    });
  if (dropped.length === 0) return [];
  const pathspecs = sourcePathspecs(head.check, git.prefix);
  if (pathspecs.length === 0) {
    notes.push('rule 6: check.sourceGlobs is empty, so no source file was searched for the dropped columns');
    return [];
  }
  if (!base) notes.push('rule 6: no base, so only HEAD was searched (the previous release may still name the column)');
  const words = [...new Set(dropped.flatMap((change) => nameForms(change.column).map((form) => form.text)))];
  const [headHits, baseHits] = await Promise.all([
    git.grepWords(words, pathspecs),
    base ? git.grepWords(words, pathspecs, base.sha) : Promise.resolve(undefined),
  ]);
  const seen = new Set(headHits.map((hit) => `${hit.path}:${hit.line}`));
  const teamHits = base
    ? (await teamMigrationHits(git, words, base.sha)).filter((hit) => !seen.has(`${hit.path}:${hit.line}`))
    : [];
  return oldColumnReferenceViolations({
    dropped,
    head: [...headHits, ...teamHits],
    base: baseHits ? { hits: baseHits, label: baseLabel } : undefined,
  });
}

async function checkReleaseTags(
  git: GitRepository,
  head: LoadedPhases,
  baseSpec: PhasesFile | undefined,
  pattern: string,
  phasesPath: string,
): Promise<Violation[]> {
  const [tags, shallow] = await Promise.all([git.tags(pattern), git.isShallow()]);
  return releaseTagViolations({
    head: head.spec,
    base: baseSpec,
    pattern,
    tags,
    phasesFile: phasesPath,
    locate: head.locate,
    shallow,
  });
}

/** Grouped by change (changes first, then the rest), then rule, file and position. */
function compareViolations(a: Violation, b: Violation): number {
  return (
    (a.changeId ?? '\uffff').localeCompare(b.changeId ?? '\uffff') ||
    a.rule - b.rule ||
    a.file.localeCompare(b.file) ||
    (a.line ?? 0) - (b.line ?? 0) ||
    (a.column ?? 0) - (b.column ?? 0)
  );
}
