import { InputError } from '../errors.js';
import { operationFor } from '../operations/index.js';
import { defaultGenerationSettings, type GenerationSettings } from '../operations/settings.js';
import type { Step } from '../operations/types.js';
import { allChanges, currentPhase, type PhasesFile, type PhaseNumber, type ReleaseName } from '../spec/types.js';
import { formatFiles, type ReleasedStep } from '../formats/index.js';
import { renderPlanComment } from './embedded-plan.js';
import {
  definitionFilePath,
  migrationFileName,
  renderDefinitionHeader,
  renderHeader,
} from '../migration-file/header.js';

/** A file phasectl generates. */
export interface GeneratedFile {
  /** Relative to the project root, forward slashes, e.g. `db/migrations/001_1.4.0_x_p1_01_expand.up.sql`. */
  path: string;
  content: string;
}

const phases: PhaseNumber[] = [1, 2, 3];

/**
 * The text of a step's migration file: header, body and, for a backfill/verify step, the plan phasectl's runner
 * executes (src/generate/embedded-plan.ts). `withPlan: false`: the text an older phasectl wrote, without the plan.
 */
export function migrationFileContent(step: Step, release: ReleaseName, options: { withPlan?: boolean } = {}): string {
  const plan = step.backfill && options.withPlan !== false ? renderPlanComment(step.backfill) : '';
  return `${renderHeader(step, release)}\n${step.sql}${plan}`;
}

/**
 * Every file phases.yaml calls for: the migrations of each phase a change's ledger records (in the release
 * the ledger names), plus the reviewable function and trigger definitions of every change past phase 0.
 * Sorted by path; the same input always gives the same bytes (no clock, no randomness, `\n` endings).
 */
export function generatedFiles(
  spec: PhasesFile,
  options: { templatesDir?: string; settings?: GenerationSettings } = {},
): GeneratedFile[] {
  const settings: GenerationSettings = { ...(options.settings ?? defaultGenerationSettings) };
  if (options.templatesDir !== undefined) settings.templatesDir = options.templatesDir;
  const files: GeneratedFile[] = [];
  const released: ReleasedStep[] = [];
  for (const change of allChanges(spec)) {
    const operation = operationFor(change);
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
      for (const step of [...steps.up, ...steps.down]) {
        const fileName = migrationFileName(releaseIndex, release, step);
        files.push({ path: `db/migrations/${fileName}`, content: migrationFileContent(step, release) });
        released.push({ releaseIndex, release, step, fileName });
      }
    }
    if (currentPhase(change) >= 1 && operation.definitions) {
      for (const definition of operation.definitions(change, settings)) {
        files.push({
          path: `db/${definitionFilePath(definition)}`,
          content: `${renderDefinitionHeader(change.id, definition)}\n${definition.sql}`,
        });
      }
    }
  }
  // migrations.format: the same steps, also laid out for another runner (docs/formats.md).
  files.push(...formatFiles(spec.migrations?.format ?? 'sql', released));
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
