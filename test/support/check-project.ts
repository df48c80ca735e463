import { generatedFiles } from '../../src/generate/files.js';
import { parsePhasesText } from '../../src/spec/load.js';
import { phasesYaml, type ProjectFixture } from './check-phases-yaml.js';
import type { TestRepository } from './git-repo.js';

export * from './check-phases-yaml.js';

/** Writes phases.yaml and, like `phasectl generate`, every file generated from it (under `dir`, default the root). */
export function writeProject(repository: TestRepository, project: ProjectFixture, dir = ''): void {
  const text = phasesYaml(project);
  repository.write(`${dir}phases.yaml`, text);
  for (const file of generatedFiles(parsePhasesText(text, 'phases.yaml').spec))
    repository.write(`${dir}${file.path}`, file.content);
}
