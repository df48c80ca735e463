import { InputError } from '../errors.js';
import { operationFor } from '../operations/index.js';
import { defaultGenerationSettings, type GenerationSettings } from '../operations/settings.js';
import type { Step } from '../operations/types.js';
import { allChanges, currentPhase, type PhasesFile, type PhaseNumber, type ReleaseName } from '../spec/types.js';
import { formatFiles, type ReleasedStep } from '../formats/index.js';
import { renderPlanComment } from './embedded-plan.js';
import {
  definitionFilePath,
  definitionPhase,
  migrationFileName,
  parseHeader,
  renderDefinitionHeader,
  renderHeader,
} from '../migration-file/header.js';
import { stampProvenance } from '../migration-file/provenance.js';
import { phasectlVersion } from '../version.js';
import { changeInputsDigest, withPhaseOneFacts, withoutRefreshedFacts } from './inputs-digest.js';
import { judgeGeneratedFile, type FileOrigin, type Judgement } from './version-judge.js';

/** A file phasectl generates. */
export interface GeneratedFile {
  /** Relative to the project root, forward slashes, e.g. `db/migrations/001_1.4.0_x_p1_01_expand.up.sql`. */
  path: string;
  content: string;
  /**
   * Set when `existing` found the file on disk with other text: `kept` (then `content` is the text on disk,
   * written by another phasectl version) or `refused` (then `content` is what this version renders).
   */
  judgement?: Judgement;
}

export interface GeneratedFilesOptions {
  templatesDir?: string;
  settings?: GenerationSettings;
  /**
   * The project's file at `path` (relative), undefined when there is none. When given, a file on disk that another
   * phasectl version wrote is judged by what its header promises and kept as it is (src/generate/version-judge.ts):
   * the expected set is then "what generate writes", the same for generate, generate --check, check and migrate.
   */
  existing?: (path: string) => string | undefined;
  /** Render kept files anew all the same (`generate --regenerate-shipped`). */
  regenerateShipped?: boolean;
}

/** Who renders the files and from what: the provenance fields of every file of a change. */
interface Provenance {
  generator: string;
  inputs: string;
}

const phases: PhaseNumber[] = [1, 2, 3];

/**
 * The text of a step's migration file: header, body and, for a backfill/verify step, the plan phasectl's runner
 * executes (src/generate/embedded-plan.ts). `withPlan: false`: the text an older phasectl wrote, without the plan.
 * `provenance`: the fields appended to the machine line (src/migration-file/provenance.ts); without it, the header
 * as phasectl wrote it before it recorded them.
 */
export function migrationFileContent(
  step: Step,
  release: ReleaseName,
  options: { withPlan?: boolean; provenance?: Provenance } = {},
): string {
  const plan = step.backfill && options.withPlan !== false ? renderPlanComment(step.backfill) : '';
  const text = `${renderHeader(step, release)}\n${step.sql}${plan}`;
  return options.provenance ? stampProvenance(text, options.provenance.generator, options.provenance.inputs) : text;
}

/**
 * The step a kept migration file (written by another phasectl version) runs, read back from its text: its
 * summary, transaction mode, action and body replace this version's, so that `migrations.format` files lay out
 * what ships, not what this version would write. The inverse of migrationFileContent.
 */
function keptStep(step: Step, text: string): Step {
  const header = parseHeader(text);
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (!header || lines.length < 4) return step;
  const body = lines
    .slice(4)
    .join('\n')
    .replace(/\n-- [^\n]*\n-- phasectl plan [^\n]*\n$/, '');
  return {
    ...step,
    summary: (lines[1] ?? '').replace(/^-- /, ''),
    transaction: header.transaction,
    action: header.action,
    sql: body,
  };
}

/** The file to write at `path`: `fresh`, or the text on disk when another phasectl wrote it and it may stay. */
function settle(path: string, fresh: string, origin: FileOrigin, options: GeneratedFilesOptions): GeneratedFile {
  const actual = options.existing?.(path);
  if (actual === undefined) return { path, content: fresh };
  const judgement = judgeGeneratedFile(path, fresh, actual, origin);
  if (!judgement) return { path, content: fresh };
  if (judgement.kind === 'kept' && !options.regenerateShipped) return { path, content: actual, judgement };
  return { path, content: fresh, judgement };
}

/**
 * Every file phases.yaml calls for: the migrations of each phase a change's ledger records (in the release
 * the ledger names), plus the reviewable function and trigger definitions of every change past phase 0.
 * Sorted by path; the same input always gives the same bytes (no clock, no randomness, `\n` endings).
 */
export function generatedFiles(spec: PhasesFile, options: GeneratedFilesOptions = {}): GeneratedFile[] {
  const settings: GenerationSettings = { ...(options.settings ?? defaultGenerationSettings) };
  if (options.templatesDir !== undefined) settings.templatesDir = options.templatesDir;
  const files: GeneratedFile[] = [];
  const released: ReleasedStep[] = [];
  const generator = phasectlVersion();
  for (const change of allChanges(spec)) {
    const operation = operationFor(change);
    // A file that reads the same without the facts `plan refresh` records again is stamped with the lean inputs.
    const lean = withoutRefreshedFacts(change);
    const fullInputs = changeInputsDigest(change, spec);
    const leanInputs = lean ? changeInputsDigest(lean, spec) : fullInputs;
    // Else, a phase 1 file that reads the same with only the facts phase 1 reads (kept by a refresh after phase 1).
    const phaseOne = withPhaseOneFacts(change);
    const phaseOneInputs = phaseOne ? changeInputsDigest(phaseOne, spec) : fullInputs;
    const inputsOf = (text: string, leanText: () => string | undefined, phaseOneText?: () => string | undefined) =>
      lean && leanText() === text ? leanInputs : phaseOne && phaseOneText?.() === text ? phaseOneInputs : fullInputs;
    for (const phase of phases) {
      const release = change.releases[`phase${phase}`];
      if (release === undefined) continue;
      const releaseIndex = spec.releases.indexOf(release) + 1;
      if (releaseIndex === 0) {
        throw new InputError(
          `change ${change.id}: phase ${phase} is in release ${release}, which is not in the releases list`,
          {
            location: { file: 'phases.yaml' },
            hint: `add ${release} to \`releases:\` in order (\`phasectl advance\` keeps them in sync)`,
          },
        );
      }
      const steps = operation.steps(change, phase, settings);
      const leanSteps = lean ? operation.steps(lean, phase, settings) : undefined;
      const phaseOneSteps = phaseOne && phase === 1 ? operation.steps(phaseOne, phase, settings) : undefined;
      for (const step of [...steps.up, ...steps.down]) {
        const fileName = migrationFileName(releaseIndex, release, step);
        const leanStep = leanSteps?.[step.direction].find((candidate) => candidate.order === step.order);
        const phaseOneStep = phaseOneSteps?.[step.direction].find((candidate) => candidate.order === step.order);
        const inputs = inputsOf(
          migrationFileContent(step, release),
          () => (leanStep ? migrationFileContent(leanStep, release) : undefined),
          () => (phaseOneStep ? migrationFileContent(phaseOneStep, release) : undefined),
        );
        const fresh = migrationFileContent(step, release, { provenance: { generator, inputs } });
        const file = settle(`db/migrations/${fileName}`, fresh, { changeId: change.id, phase, release }, options);
        files.push(file);
        const shipped = file.content === fresh ? step : keptStep(step, file.content);
        released.push({ releaseIndex, release, step: shipped, fileName });
      }
    }
    if (currentPhase(change) >= 1 && operation.definitions) {
      const leanDefinitions = lean ? operation.definitions(lean, settings) : undefined;
      for (const definition of operation.definitions(change, settings)) {
        const text = `${renderDefinitionHeader(change.id, definition)}\n${definition.sql}`;
        const phase = definitionPhase(definitionFilePath(definition)) ?? 1;
        const origin = { changeId: change.id, phase, release: change.releases[`phase${phase}`] };
        const leanDefinition = leanDefinitions?.find((candidate) => candidate.name === definition.name);
        const inputs = inputsOf(text, () =>
          leanDefinition ? `${renderDefinitionHeader(change.id, leanDefinition)}\n${leanDefinition.sql}` : undefined,
        );
        const fresh = stampProvenance(text, generator, inputs);
        files.push(settle(`db/${definitionFilePath(definition)}`, fresh, origin, options));
      }
    }
  }
  // migrations.format: the same steps, also laid out for another runner (docs/formats.md).
  files.push(...formatFiles(spec.migrations?.format ?? 'sql', released));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
