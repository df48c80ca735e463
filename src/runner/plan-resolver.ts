import { InputError } from '../errors.js';
import { readEmbeddedPlan } from '../generate/embedded-plan.js';
import { migrationFileContent } from '../generate/files.js';
import { readProvenance } from '../migration-file/provenance.js';
import { backfillPlan, phaseSteps } from '../operations/index.js';
import type { BackfillPlan } from '../operations/types.js';
import { loadPhasesFile } from '../spec/load.js';
import { allChanges, type Change } from '../spec/types.js';
import type { MigrationFile } from './migration-files.js';

/** Finds the BackfillPlan of an `action=backfill|verify` file. */
export type PlanResolver = (file: MigrationFile) => Promise<BackfillPlan>;

/**
 * The plan a backfill/verify file runs, tied to the file's content (so to its recorded checksum):
 * - the plan the file carries (src/generate/embedded-plan.ts), as written;
 * - a file without one (written by an older phasectl): the change's plan (`backfillPlan`), only when phases.yaml
 *   still renders exactly that file (its header and body); otherwise the runner refuses, since a plan rebuilt from
 *   an edited phases.yaml may do something else than the file says (e.g. swapped columns).
 */
export function planResolver(phasesFile: string): PlanResolver {
  let changes: Promise<Change[]> | undefined;
  return async (file) => {
    const header = file.header;
    if (!header) throw new InputError(`${file.name} has no phasectl header`, { hint: 'restore the file from git' });
    const embedded = readEmbeddedPlan(file.content, header, file.name);
    if (embedded) return embedded;
    changes ??= loadPhasesFile(phasesFile).then((loaded) => allChanges(loaded.spec));
    const change = (await changes).find((candidate) => candidate.id === header.changeId);
    if (!change) {
      throw new InputError(`${file.name} belongs to change ${header.changeId}, which is not in phases.yaml`, {
        location: { file: phasesFile },
        hint: 'restore the change in phases.yaml (changes are removed only after phase 3 shipped everywhere)',
      });
    }
    // The text comparison needs the step rendered; the plan itself comes from the one place that builds plans.
    const step = phaseSteps(change, header.phase)[header.direction].find(
      (candidate) => candidate.order === header.order,
    );
    // Compared without the provenance fields (src/migration-file/provenance.ts), which such old files lack.
    const text = readProvenance(file.content)?.bare ?? file.content;
    if (!step?.backfill || migrationFileContent(step, header.release, { withPlan: false }) !== text) {
      throw new InputError(
        `${file.name} carries no backfill plan, and phases.yaml no longer generates it as it is: phasectl will not guess what it should run`,
        {
          location: { file: file.path },
          hint: 'restore phases.yaml as it was when the file was generated (`git log -- phases.yaml`); if the file never shipped, `phasectl generate` rewrites it with its plan',
        },
      );
    }
    return backfillPlan(change, header.direction);
  };
}
