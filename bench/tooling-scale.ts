/**
 * The pure tooling at scale: `plan`'s edit of a phases.yaml of 1,000 changes (comments kept, re-validated),
 * `generate` for 1,000 changes, and `check` over ~3,000
 * migration files (bench/check-scale.ts). No database.
 */
import { generatedFiles } from '../src/generate/files.js';
import { stringify } from 'yaml';
import { appendChange, changeToPlain, toText } from '../src/spec/edit.js';
import { parsePhasesText } from '../src/spec/load.js';
import type { RenameChange } from '../src/spec/types.js';
import { benchCheckScale } from './check-scale.js';
import { checked, type BenchRow } from './report.js';
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
      indexes: [
        {
          name: `t${index}_job_title_idx`,
          unique: false,
          definition: `CREATE INDEX t${index}_job_title_idx ON public.t${index} USING btree (job_title)`,
        },
      ],
      constraints: [
        { name: `t${index}_job_title_check`, kind: 'check', definition: 'CHECK ((length(job_title) < 200))' },
      ],
    },
    key: { columns: ['id'], types: ['bigint'] },
    releases: {},
  } as RenameChange;
}

/** phases.yaml text holding `count` changes (phase 1 in 1.0.0 when `released`), written in one go. */
function phasesText(count: number, released: boolean): string {
  const changes = Array.from({ length: count }, (_unused, index) => ({
    ...changeToPlain(change(index)),
    releases: released ? { phase1: '1.0.0' } : {},
  }));
  return stringify({ version: 1, ...(released ? { releases: ['1.0.0'] } : {}), changes }, { lineWidth: 0 });
}

/**
 * Section 4 (tooling) rows. `plan` is timed as one invocation's pure part on a phases.yaml that already
 * holds changes − 1 changes (load, append, re-validate, text): appending all 1,000 one by one re-parses the
 * growing file each time (quadratic; minutes), so the bench times the last append and reports that.
 */
export async function benchTooling(changes = 1000): Promise<BenchRow[]> {
  const section = `4. tooling scale (${changes.toLocaleString('en-US')} changes)`;
  const before = phasesText(changes - 1, false);
  const planStarted = performance.now();
  const loaded = parsePhasesText(before, 'phases.yaml');
  const loadMs = since(planStarted);
  const text = toText(appendChange(loaded, change(changes - 1)));
  const planMs = since(planStarted);

  const released = parsePhasesText(phasesText(changes, true), 'phases.yaml');
  const renderStarted = performance.now();
  const files = generatedFiles(released.spec);
  const renderMs = since(renderStarted);

  const checkScale = await benchCheckScale();
  return [
    checked(
      {
        section,
        metric: `plan: append change #${changes} to phases.yaml`,
        value: planMs,
        unit: 'ms',
        target: '≤ 2000 ms',
        note: `load of ${changes - 1} changes ${Math.round(loadMs)} ms, then append + re-validate; ${Math.round(text.length / 1024)} KiB of YAML`,
      },
      planMs <= 2000,
    ),
    checked(
      {
        section,
        metric: `generate: render phase 1 of ${changes} changes`,
        value: renderMs,
        unit: 'ms',
        target: '≤ 2000 ms',
        note: `${files.length} files`,
      },
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
