import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { phasectl as runPhasectl, repoRoot, requireBuiltCli } from '../support/cli.js';
import { createTestDatabase } from '../support/database.js';

/** Runs the built CLI (`node bin/phasectl.js`) as a real process in `cwd`: the exit code must reach the shell. */
function phasectl(
  cwd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runPhasectl(args, { cwd, env });
}

/**
 * Runs the built CLI (dist/cli.bundle.js, what bin/phasectl.js runs) in this process with `cwd` as the working
 * directory, capturing its output: the same code as a process, without a node start-up per step.
 */
async function inProcess(
  cwd: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  requireBuiltCli();
  const { run } = (await import(pathToFileURL(join(repoRoot, 'dist/cli.bundle.js')).href)) as {
    run(argv: string[]): Promise<number>;
  };
  const saved = {
    cwd: process.cwd(),
    DATABASE_URL: process.env.DATABASE_URL,
    PHASECTL_RELEASE: process.env.PHASECTL_RELEASE,
  };
  let stdout = '';
  let stderr = '';
  const outSpy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const errSpy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  const setEnv = (name: string, value: string | undefined) =>
    value === undefined ? delete process.env[name] : (process.env[name] = value);
  setEnv('DATABASE_URL', env.DATABASE_URL);
  setEnv('PHASECTL_RELEASE', env.PHASECTL_RELEASE);
  process.chdir(cwd);
  try {
    const code = await run(['node', 'phasectl', ...args]);
    return { code, stdout, stderr };
  } finally {
    process.chdir(saved.cwd);
    setEnv('DATABASE_URL', saved.DATABASE_URL);
    setEnv('PHASECTL_RELEASE', saved.PHASECTL_RELEASE);
    outSpy.mockRestore();
    errSpy.mockRestore();
  }
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let project: string;

beforeAll(async () => {
  database = await createTestDatabase();
  const client = new pg.Client({ connectionString: database.url });
  await client.connect();
  await client.query(`CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown',
                        CONSTRAINT users_job_title_check CHECK (length(job_title) <= 200));
                      CREATE INDEX users_job_title_idx ON public.users (job_title);`);
  await client.end();
  project = await mkdtemp(join(tmpdir(), 'phasectl-e2e-'));
});
afterAll(async () => {
  await database?.drop();
  if (project) await rm(project, { recursive: true, force: true });
});

describe('init → plan → advance → generate', () => {
  test('the whole release workflow, with refusals exiting 2 and changing nothing', async () => {
    const init = await inProcess(project, ['init']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('created phases.yaml');
    expect((await readdir(join(project, 'db'))).sort()).toEqual(['functions', 'migrations', 'triggers']);
    const initAgain = await inProcess(project, ['init']);
    expect(initAgain.code).toBe(0);
    expect(initAgain.stdout).toContain('kept    phases.yaml (already exists)');

    const plan = await inProcess(project, ['plan', 'rename', 'users.job_title', 'favourite_color'], {
      DATABASE_URL: database.url,
    });
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('added change users-job-title-to-favourite-color');
    expect(plan.stdout).toContain('Release 3 — phase 3, contract');
    const planned = await readFile(join(project, 'phases.yaml'), 'utf8');
    expect(planned).toContain('# phases.yaml — column changes');
    expect(planned).toContain('definition: CHECK ((length(job_title) <= 200))');
    expect(planned).toContain('name: users_job_title_idx');

    // Bad input: exit 2, phases.yaml untouched.
    for (const args of [
      ['plan', 'rename', 'users.no_such_column', 'x', '--database-url', database.url],
      ['plan', 'rename', 'users.job_title', 'other'],
      ['plan', 'rename', 'users.job_title', 'favourite_color', '--database-url', database.url],
      ['advance', '--release', 'not a release'],
    ]) {
      const refused = await inProcess(project, args);
      expect(refused.code, `${args.join(' ')}\n${refused.stderr}`).toBe(2);
      expect(refused.stderr).toMatch(/^error: .*\n {2}fix: /);
      expect(refused.stderr).not.toContain('phasectl@');
      expect(await readFile(join(project, 'phases.yaml'), 'utf8')).toBe(planned);
    }

    const first = await inProcess(project, ['advance', '--release', '1.4.0']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('users-job-title-to-favourite-color: phase 0 → 1 in release 1.4.0');
    expect(await readdir(join(project, 'db/migrations'))).toContain(
      '001_1.4.0_users-job-title-to-favourite-color_p1_01_expand.up.sql',
    );

    const afterFirst = await readFile(join(project, 'phases.yaml'), 'utf8');
    const again = await phasectl(project, ['advance', '--release', '1.4.0']);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('shipped phase 1 in release 1.4.0');
    expect(await readFile(join(project, 'phases.yaml'), 'utf8')).toBe(afterFirst);

    const second = await inProcess(project, ['advance'], { PHASECTL_RELEASE: '1.5.0' });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('phase 1 → 2 in release 1.5.0');

    const clean = await inProcess(project, ['generate', '--check']);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);

    const migrations = await readdir(join(project, 'db/migrations'));
    const edited = join(
      project,
      'db/migrations',
      migrations.find((name) => name.endsWith('.up.sql'))!,
    );
    await writeFile(edited, `${await readFile(edited, 'utf8')}\n-- hand edit\n`);
    const dirty = await phasectl(project, ['generate', '--check']);
    expect(dirty.code).toBe(1);
    expect(dirty.stdout).toContain('changed:');
    expect(await readFile(edited, 'utf8')).toContain('-- hand edit');

    const regenerate = await inProcess(project, ['generate']);
    expect(regenerate.code, regenerate.stderr).toBe(0);
    expect((await inProcess(project, ['generate', '--check'])).code).toBe(0);
  });

  test('a broken ledger and a missing phases.yaml are bad input (exit 2)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'phasectl-e2e-empty-'));
    try {
      const missing = await phasectl(empty, ['generate', '--check']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('no phases.yaml in');
      expect(missing.stderr).toContain('phasectl init');
      await writeFile(
        join(empty, 'phases.yaml'),
        [
          'version: 1',
          'releases: [1.0.0]',
          'changes:',
          '  - id: a',
          '    rename: { schema: public, table: t, from: a, to: b }',
          '    column: { type: text, nullable: true }',
          '    key: { columns: [id], types: [int] }',
          '    releases: { phase2: 1.0.0 }',
          '',
        ].join('\n'),
      );
      const broken = await phasectl(empty, ['advance', '--release', '2.0.0']);
      expect(broken.code).toBe(2);
      expect(broken.stderr).toContain('phases.yaml:8:17: release rule 1 broken');
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});

describe('the repository example', () => {
  test('generate --check is clean for this repository', async () => {
    const result = await phasectl(repoRoot, ['generate', '--check']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  });
});
