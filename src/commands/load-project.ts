import { loadPhasesFile, type LoadedPhases } from '../spec/load.js';
import { requireSoundLedger } from '../releases/require-sound-ledger.js';
import { projectPaths } from '../project.js';

/**
 * Loads the project's phases.yaml and refuses a ledger that breaks the release rules:
 * what generate, advance and migrate start from.
 */
export async function loadCheckedPhases(dir: string = process.cwd()): Promise<LoadedPhases> {
  const loaded = await loadPhasesFile(projectPaths(dir).phasesFile);
  requireSoundLedger(loaded);
  return loaded;
}
