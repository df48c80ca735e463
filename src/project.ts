import { join, resolve } from 'node:path';

/** Where phasectl keeps things inside a project. */
export interface ProjectPaths {
  root: string;
  phasesFile: string;
  migrationsDir: string;
  functionsDir: string;
  triggersDir: string;
}

/** The paths of the project rooted at `dir` (phases.yaml and the generated folders under db/). */
export function projectPaths(dir: string = process.cwd()): ProjectPaths {
  const root = resolve(dir);
  return {
    root,
    phasesFile: join(root, 'phases.yaml'),
    migrationsDir: join(root, 'db', 'migrations'),
    functionsDir: join(root, 'db', 'functions'),
    triggersDir: join(root, 'db', 'triggers'),
  };
}
