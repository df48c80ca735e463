import { expect } from 'vitest';
import { quoteIdent } from '../../src/render/quote.js';
import { phasectl } from './cli.js';
import { query } from './fixtures-project.js';
import {
  databaseWithFolder,
  databaseWithGeneratedProject,
  roleIn,
  type Cleanups,
  type ProjectCli,
  type TestProject,
} from './test-project.js';
import type { GeneratedProjectOptions } from './fixtures-generated.js';

/**
 * Set-ups several CLI tests share: a rename planned and released through the CLI, a generated project already
 * migrated, a second role whose code notes each time it runs.
 */

/** `public.users (id bigint PRIMARY KEY, job_title text)` with `rows` rows, `job_title` = `title <id>`. */
export function usersWithTitles(rows: number): string {
  return `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text);
     INSERT INTO public.users SELECT g, 'title ' || g FROM generate_series(1, ${rows}) g;`;
}

/**
 * A fresh database with public.users (usersWithTitles) and a project folder named `<prefix>XXXXXX` in which change
 * `jt` (users.job_title → title) is planned and released in 1.0.0 (`init`, `plan`, `advance` run, not `migrate`).
 */
export async function plannedTitleRename(
  cleanups: Cleanups,
  prefix: string,
  rows = 50,
): Promise<TestProject & ProjectCli> {
  const project = await databaseWithFolder(cleanups, usersWithTitles(rows), prefix);
  await project.ok('init');
  await project.ok('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  await project.ok('advance', '--release', '1.0.0');
  return project;
}

/** databaseWithGeneratedProject, with `migrate` run (exit 0) over every release it holds. */
export async function migratedGeneratedProject(
  cleanups: Cleanups,
  options: GeneratedProjectOptions & { move?: boolean },
): Promise<TestProject> {
  const project = await databaseWithGeneratedProject(cleanups, options);
  const migrated = await phasectl(['migrate', '--project', project.dir, '--quiet'], { env: project.env });
  expect(migrated.code, migrated.stderr).toBe(0);
  return project;
}

/**
 * A second, ordinary role in the database of `url` (roleIn) with schema `hostile_code`, usable by everyone, and table
 * `hostile_code.runs`, where its code notes `current_user` each time it runs (everyone may insert); `code` (given the
 * role's name), run as that role, creates that code. `ranAs` lists the roles it ran as, once each; `runs` counts how often it ran.
 */
export async function hostileCodeRole(cleanups: Cleanups, url: string, code: string | ((name: string) => string)) {
  const role = await roleIn(cleanups, url);
  await query(
    role.url,
    `CREATE SCHEMA hostile_code;
     GRANT USAGE ON SCHEMA hostile_code TO PUBLIC;
     CREATE TABLE hostile_code.runs (by_role text);
     GRANT INSERT ON hostile_code.runs TO PUBLIC;
     ${typeof code === 'string' ? code : code(role.name)}`,
  );
  const ranAs = async () =>
    (await query<{ r: string }>(url, `SELECT DISTINCT by_role AS r FROM hostile_code.runs ORDER BY 1`)).map(
      (row) => row.r,
    );
  const runs = async () => (await query<{ n: number }>(url, `SELECT count(*)::int AS n FROM hostile_code.runs`))[0]!.n;
  return { ...role, ident: quoteIdent(role.name), ranAs, runs };
}
