import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advance } from '../../src/commands/advance.js';
import { initialPhasesText } from '../../src/commands/init.js';
import { planRename } from '../../src/commands/plan.js';
import { planMove } from '../../src/commands/plan-move.js';
import { query } from './fixtures-project.js';

/**
 * A project with `public.users.job_title → favourite_color` (change `users-job-title`) planned
 * against `url` and advanced through `releases` (generated files in db/migrations).
 */
export async function generatedProject(
  url: string,
  options: { rows: number; releases: string[] },
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-generated-'));
  await mkdir(join(dir, 'db', 'migrations'), { recursive: true });
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText());
  await query(
    url,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown', n int NOT NULL DEFAULT 0);
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
  for (const release of options.releases) await advance({ projectDir: dir, release });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A project with the move `public.users.address → public.profiles.address` on `profiles.user_id = users.id`
 * (change `users-address`), every user with a profile, planned against `url` and advanced through `releases`.
 */
export async function generatedMoveProject(
  url: string,
  options: { rows: number; releases: string[] },
): Promise<{ dir: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-generated-move-'));
  await mkdir(join(dir, 'db', 'migrations'), { recursive: true });
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText());
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
  for (const release of options.releases) await advance({ projectDir: dir, release });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
