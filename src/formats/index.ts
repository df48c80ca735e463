import type { PhasesFile } from '../spec/types.js';
import { dbMigrateFiles } from './db-migrate.js';
import { kyselyFiles } from './kysely.js';
import { runnerMigrations, type ReleasedStep } from './runner-migrations.js';

export type { ReleasedStep } from './runner-migrations.js';

/**
 * The extra files `migrations.format` asks for, besides phasectl's own db/migrations (which stay: they are
 * what `phasectl migrate`, `check` and reviews read). `sql` adds nothing. Pure.
 */
export function formatFiles(
  format: PhasesFile['migrations']['format'],
  steps: ReleasedStep[],
): { path: string; content: string }[] {
  switch (format) {
    case 'sql':
      return [];
    case 'kysely':
      return kyselyFiles(runnerMigrations(steps));
    case 'db-migrate':
      return dbMigrateFiles(runnerMigrations(steps));
  }
}
