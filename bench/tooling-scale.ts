/**
 * The pure tooling at scale: `plan`'s edit of phases.yaml (append 1,000 changes, comments kept, each
 * re-validated), `advance`'s edit + `generate` for those 1,000 changes, and `check` over ~3,000
 * migration files (bench/check-scale.ts). No database.
 */
import { initialPhasesText } from '../src/commands/init.js';
import { generatedFiles } from '../src/generate/files.js';
import { planAdvance } from '../src/releases/advance.js';
import { appendChange, recordPhaseRelease, toText } from '../src/spec/edit.js';
import { parsePhasesText } from '../src/spec/load.js';
import type { RenameChange } from '../src/spec/types.js';
import { benchCheckScale } from './check-scale.js';
import { checked, info, type BenchRow } from './report.js';
import { since } from './stats.js';

function change(index: number): RenameChange {
  return {
    kind: 'rename',
    id: `t${index}-title`,
    rename: { schema: 'public', table: `t${index}`, from: 'job_title', to: 'favourite_color' },
    column: {
      type: 'text',
      nullable: false,
      default: "'unknown'::text",
      indexes: [{ name: `t${index}_job_title_idx`, unique: false, definition: `CREATE INDEX t${index}_job_title_idx ON public.t${index} USING btree (job_title)` }],
      constraints: [{ name: `t${index}_job_title_check`, kind: 'check', definition: 'CHECK ((length(job_title) < 200))' }],
    },
    key: { columns: ['id'], types: ['bigint'] },
    releases: {},
  } as RenameChange;
}

/** Section 4 (tooling) rows. */
export async function benchTooling(changes = 1000): Promise<BenchRow[]> {
  const section = `4. tooling scale (${changes.toLocaleString('en-US')} changes)`;
  let loaded = parsePhasesText(initialPhasesText(), 'phases.yaml');
  const planStarted = performance.now();
  for (let index = 0; index < changes; index += 1) loaded = appendChange(loaded, change(index));
  const text = toText(loaded);
  const planMs = since(planStarted);

  const generateStarted = performance.now();
  const outcome = planAdvance(loaded.spec, '1.0.0');
  if (outcome.kind !== 'advanced') throw new Error(`advance refused: ${JSON.stringify(outcome)}`);
  let advanced = loaded;
  for (const move of outcome.moves) advanced = recordPhaseRelease(advanced, move.changeId, move.to, '1.0.0');
  const advanceMs = since(generateStarted);
  const renderStarted = performance.now();
  const files = generatedFiles(advanced.spec);
  const renderMs = since(renderStarted);

  const checkScale = await benchCheckScale();
  return [
    checked(
      { section, metric: `plan: append ${changes} changes to phases.yaml`, value: planMs, unit: 'ms', target: '≤ 2000 ms', note: `${Math.round(text.length / 1024)} KiB of YAML, re-validated after every append` },
      planMs <= 2000,
    ),
    info({ section, metric: `advance: record phase 1 of ${changes} changes`, value: advanceMs, unit: 'ms' }),
    checked(
      { section, metric: `generate: render phase 1 of ${changes} changes`, value: renderMs, unit: 'ms', target: '≤ 2000 ms', note: `${files.length} files` },
      renderMs <= 2000,
    ),
    checked(
      {
        section,
        metric: `check: ${checkScale.migrations} migration files`,
        value: checkScale.milliseconds,
        unit: 'ms',
        target: '≤ 2000 ms',
        note: `median of 3; ${checkScale.otherThanRule6} violations other than the planted rule-6 references (expected 0)`,
      },
      checkScale.milliseconds <= 2000 && checkScale.otherThanRule6 === 0,
    ),
  ];
}
