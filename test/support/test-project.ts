import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { afterAll, expect } from 'vitest';
import { initialPhasesText } from '../../src/commands/init.js';
import { phasectl, type CliResult } from './cli.js';
import { createTestDatabase } from './database.js';
import { generatedMoveProject, generatedProject, type GeneratedProjectOptions } from './fixtures-generated.js';
import { client, query } from './fixtures-project.js';
import { createOwnerRole } from './hardening-roles.js';

/** What a test file undoes after its last test (databases, folders, connections): push onto it. */
export type Cleanups = (() => Promise<void>)[];

/**
 * Runs every cleanup pushed onto the returned list after the file's last test, newest first, each one's failure
 * ignored (a later cleanup still runs). Call it at the top level of a test file.
 */
export function cleanupsAfterAll(): Cleanups {
  const cleanups: Cleanups = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });
  return cleanups;
}

/** A fresh database of the harness's server (test/support/database.ts). */
export type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

/** A project folder and the fresh database it runs against; `env` passes the database to the CLI. */
export interface TestProject {
  url: string;
  dir: string;
  env: { DATABASE_URL: string };
}

/**
 * A fresh database holding the generated rename `users-job-title` (or, with `move`, the move `users-address`) of
 * test/support/fixtures-generated.ts; `cleanups` removes both.
 */
export async function databaseWithGeneratedProject(
  cleanups: Cleanups,
  options: GeneratedProjectOptions & { move?: boolean },
): Promise<TestProject> {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const project = await (options.move ? generatedMoveProject : generatedProject)(db.url, options);
  cleanups.push(project.remove);
  return { url: db.url, dir: project.dir, env: { DATABASE_URL: db.url } };
}

/**
 * An empty project in a temporary folder named `<prefix>XXXXXX`: the phases.yaml `phasectl init` writes and an empty
 * db/migrations; `cleanups` removes it.
 */
export async function emptyProject(cleanups: Cleanups, prefix = 'phasectl-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'db', 'migrations'), { recursive: true });
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText());
  return dir;
}

/** A fresh database set up by `sql` and an empty project (see emptyProject); `cleanups` removes both. */
export async function databaseWithProject(cleanups: Cleanups, sql: string, prefix = 'phasectl-'): Promise<TestProject> {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const dir = await emptyProject(cleanups, prefix);
  await query(db.url, sql);
  return { url: db.url, dir, env: { DATABASE_URL: db.url } };
}

/**
 * A fresh database and one client connected to it, for a test file that talks to the database directly; `cleanups`
 * ends the client and drops the database. Open it in the file's beforeAll.
 */
export async function databaseSession(cleanups: Cleanups): Promise<{ db: TestDatabase; session: pg.Client }> {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const session = await client(db.url);
  cleanups.push(() => session.end());
  return { db, session };
}

/** The built CLI run in a project folder against one database (see cliIn). */
export interface ProjectCli {
  run(...args: string[]): Promise<CliResult>;
  /** `run`, expecting exit 0 (a failure shows the command and its output). */
  ok(...args: string[]): Promise<CliResult>;
}

/** The built CLI in `dir`, with `env` (DATABASE_URL) in its environment. */
export function cliIn(dir: string, env: Record<string, string>): ProjectCli {
  const run = async (...args: string[]) => phasectl(args, { cwd: dir, env });
  const ok = async (...args: string[]) => {
    const result = await run(...args);
    expect(result.code, `${args.join(' ')}\n${result.stdout}\n${result.stderr}`).toBe(0);
    return result;
  };
  return { run, ok };
}

/**
 * A fresh database set up by `sql` and an empty temporary folder named `<prefix>XXXXXX` (no phases.yaml: the test
 * runs `init`), with the CLI in it (cliIn); `cleanups` removes both.
 */
export async function databaseWithFolder(
  cleanups: Cleanups,
  sql: string,
  prefix: string,
): Promise<TestProject & ProjectCli> {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const dir = await mkdtemp(join(tmpdir(), prefix));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  if (sql) await query(db.url, sql);
  const env = { DATABASE_URL: db.url };
  return { url: db.url, dir, env, ...cliIn(dir, env) };
}

/** Whether `table` (`schema.table`) has a live column `column`. */
export async function hasColumn(url: string, table: string, column: string): Promise<boolean> {
  const rows = await query<{ n: number }>(
    url,
    `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`,
    [table, column],
  );
  return rows[0]!.n === 1;
}

/**
 * A login role with CREATE on the database of `url` and nothing else (createOwnerRole); `cleanups` drops it after
 * everything pushed so far (a role that owns objects can only go once their database has).
 */
export async function roleIn(cleanups: Cleanups, url: string): Promise<{ name: string; url: string }> {
  const role = await createOwnerRole(url, decodeURIComponent(new URL(url).pathname.slice(1)));
  cleanups.unshift(role.drop);
  return role;
}
