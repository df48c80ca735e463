import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advance } from '../../src/commands/advance.js';
import { initialPhasesText } from '../../src/commands/init.js';
import { planRename } from '../../src/commands/plan.js';
import { planMove } from '../../src/commands/plan-move.js';
import { query } from './fixtures-project.js';

export interface GeneratedProjectOptions {
  rows: number;
  releases: string[];
  /** phases.yaml's `migrations.format` (files next to db/migrations); default sql only. */
  format?: 'kysely' | 'db-migrate';
  /** An index on the old column (users_job_title_idx), which phase 1 copies; renames only. */
  index?: boolean;
}

/**
 * A project with `public.users.job_title → favourite_color` (change `users-job-title`) planned
 * against `url` and advanced through `releases` (generated files in db/migrations).
 */
export async function generatedProject(
  url: string,
  options: GeneratedProjectOptions,
): Promise<{ dir: string; remove(): Promise<void> }> {
  return await plannedProject('phasectl-generated-', options, async (dir) => {
    await query(
      url,
      `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown', n int NOT NULL DEFAULT 0);
                    ${options.index ? 'CREATE INDEX users_job_title_idx ON public.users (job_title);' : ''}
                    INSERT INTO public.users (id, job_title) SELECT g, 'title ' || g FROM generate_series(1, ${options.rows}) g;
                    ANALYZE public.users;`,
    );
    await planRename({
      projectDir: dir,
      target: 'public.users.job_title',
      newName: 'favourite_color',
      id: 'users-job-title',
      databaseUrl: url,
    });
  });
}

/**
 * A project with the move `public.users.address → public.profiles.address` on `profiles.user_id = users.id`
 * (change `users-address`), every user with a profile, planned against `url` and advanced through `releases`.
 */
export async function generatedMoveProject(
  url: string,
  options: GeneratedProjectOptions,
): Promise<{ dir: string; remove(): Promise<void> }> {
  return await plannedProject('phasectl-generated-move-', options, async (dir) => {
    await query(
      url,
      `CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
                    CREATE TABLE public.profiles (id bigserial PRIMARY KEY, user_id bigint NOT NULL UNIQUE REFERENCES public.users (id), bio text);
                    INSERT INTO public.users (id, address) SELECT g, 'street ' || g FROM generate_series(1, ${options.rows}) g;
                    INSERT INTO public.profiles (user_id) SELECT g FROM generate_series(1, ${options.rows}) g;
                    ANALYZE public.users, public.profiles;`,
    );
    await planMove({
      projectDir: dir,
      from: 'public.users.address',
      to: 'public.profiles.address',
      on: 'id=user_id',
      id: 'users-address',
      databaseUrl: url,
    });
  });
}

/** A temporary project: `plan` declares its change, then it is advanced through `options.releases`. */
async function plannedProject(
  prefix: string,
  options: GeneratedProjectOptions,
  plan: (dir: string) => Promise<void>,
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await mkdir(join(dir, 'db', 'migrations'), { recursive: true });
  const format = options.format ? `migrations:\n  format: ${options.format}\n` : '';
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText().replace('version: 1\n', `version: 1\n${format}`));
  await plan(dir);
  for (const release of options.releases) await advance({ projectDir: dir, release });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
