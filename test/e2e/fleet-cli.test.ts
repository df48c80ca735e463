import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import type { FleetEvent } from '../../src/fleet/events.js';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.js';
import { withDatabase } from '../../src/db/url.js';
import { phasectl, jsonEvents } from '../support/cli.js';
import { serverUrl } from '../support/database.js';
import { generatedProject } from '../support/fixtures-generated.js';
import { query } from '../support/fixtures-project.js';
import { restartable } from '../support/restartable-server.js';

/**
 * A fleet on three servers of different majors: the test run's own server holds 20 tenant databases (plus the
 * template they are copied from and `<prefix>_tenants_archive`, which the pattern must not match); a PostgreSQL 16
 * server holds `main`; a PostgreSQL 15 server holds `shard`, stopped during release 1.1.0 and restarted later.
 */
const prefix = `f${randomBytes(3).toString('hex')}`;
const tenants = Array.from({ length: 20 }, (_, i) => `${prefix}_tenant_${String(i + 1).padStart(2, '0')}`);
const TABLE = `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown', n int NOT NULL DEFAULT 0);
               INSERT INTO public.users (id, job_title) SELECT g, 'title ' || g FROM generate_series(1, 300) g; ANALYZE public.users;`;
let dir: string;
let removeProject: () => Promise<void>;
let main: EmbeddedServer;
let shard: EmbeddedServer;
let shardControl: ReturnType<typeof restartable>;
let env: Record<string, string>;
const mainUrl = () => withDatabase(main.url, 'main');
const shardUrl = () => withDatabase(shard.url, 'shard');

beforeAll(async () => {
  [main, shard] = await Promise.all([startEmbeddedPostgres({ major: 16 }), startEmbeddedPostgres({ major: 15 })]);
  shardControl = restartable(shard, 15);
  await query(serverUrl(), `CREATE DATABASE ${prefix}_base`);
  const project = await generatedProject(withDatabase(serverUrl(), `${prefix}_base`), {
    rows: 300,
    releases: ['1.0.0'],
  });
  dir = project.dir;
  removeProject = project.remove;
  for (const name of [...tenants, `${prefix}_tenants_archive`])
    await query(serverUrl(), `CREATE DATABASE ${name} TEMPLATE ${prefix}_base`);
  await query(main.url, 'CREATE DATABASE main');
  await query(shard.url, 'CREATE DATABASE shard');
  await query(mainUrl(), TABLE);
  await query(shardUrl(), TABLE);
  env = { FLEET_MAIN_URL: mainUrl(), FLEET_SHARD_URL: shardUrl(), FLEET_TENANT_SERVER: serverUrl() };
  await writeFile(
    join(dir, 'fleet.yaml'),
    `# every database of the application\nconcurrency: 2\ntargets:\n  - name: main\n    url: \${FLEET_MAIN_URL}\n  - name: shard\n    url: \${FLEET_SHARD_URL}\n  - discover: \${FLEET_TENANT_SERVER}\n    databases: ${prefix}_tenant_*\n`,
  );
}, 240_000);

afterAll(async () => {
  await shardControl?.dispose();
  await Promise.all([main?.stop(), shard?.stop()]);
  for (const name of [...tenants, `${prefix}_tenants_archive`, `${prefix}_base`])
    await query(serverUrl(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  await removeProject?.();
}, 120_000);

const fleet = (args: string[], extraEnv: Record<string, string> = {}) =>
  phasectl([...args, '--project', dir], { env: { ...env, ...extraEnv } });
const phaseOf = async (url: string) =>
  (
    await query<{ phase: number }>(url, `SELECT phase FROM phasectl.changes WHERE id = 'users-job-title'`).catch(
      () => [],
    )
  )[0]?.phase ?? 0;
const allUrls = () => [mainUrl(), shardUrl(), ...tenants.map((name) => withDatabase(serverUrl(), name))];

describe('a fleet file that is wrong is refused with file:line:column, and nothing is migrated', () => {
  const cases: Array<[string, string, RegExp, Record<string, string>?]> = [
    [
      'unknown key',
      'targets:\n  - name: main\n    url: ${FLEET_MAIN_URL}\n    urls: x\n',
      /bad\.yaml:4:5: unknown key "urls" in targets\[0\] \(did you mean "url"\?\)/,
    ],
    [
      'unset variable',
      'targets:\n  - name: main\n    url: ${FLEET_NOT_SET}\n',
      /bad\.yaml:3:10: targets\[0\]\.url: environment variable FLEET_NOT_SET is not set/,
    ],
    [
      'password in the file',
      'targets:\n  - name: main\n    url: postgres://app:hunter2@db.example/app\n',
      /bad\.yaml:3:10: targets\[0\]\.url has a password written in the file/,
    ],
    [
      'duplicate names',
      'targets:\n  - name: main\n    url: ${FLEET_MAIN_URL}\n  - name: main\n    url: ${FLEET_SHARD_URL}\n',
      /bad\.yaml:4:5: two targets are named "main" \(the first at line 2\)/,
    ],
    [
      'top-level typo',
      'concurency: 3\ntargets:\n  - name: main\n    url: ${FLEET_MAIN_URL}\n',
      /bad\.yaml:1:1: unknown key "concurency" in the top level \(did you mean "concurrency"\?\)/,
    ],
  ];
  // One CLI process per bad file, all at once (each is a full start of phasectl; the machine has 2 cores).
  test('unknown key, unset variable, password in the file, duplicate names, top-level typo', async () => {
    const results = await Promise.all(
      cases.map(async ([name, text], index) => {
        const file = join(dir, `bad-${index}.yaml`);
        await writeFile(file, text);
        return { name, result: await fleet(['migrate', '--fleet', file]) };
      }),
    );
    results.forEach(({ name, result }, index) => {
      expect(result.code, `${name}: ${result.stderr}`).toBe(2);
      expect(result.stderr, name).toMatch(
        new RegExp(cases[index]![2].source.replace('bad\\.yaml', `bad-${index}\\.yaml`)),
      );
      expect(result.stderr).not.toContain('hunter2');
    });
    expect(await query(mainUrl(), `SELECT to_regnamespace('phasectl') AS s`)).toEqual([{ s: null }]);
  });

  test('a discovered database named like a named target: refused before anything runs', async () => {
    const file = join(dir, 'dup.yaml');
    await writeFile(
      file,
      `targets:\n  - name: ${tenants[0]}\n    url: \${FLEET_MAIN_URL}\n  - discover: \${FLEET_TENANT_SERVER}\n    databases: ${prefix}_tenant_*\n`,
    );
    const result = await fleet(['migrate', '--fleet', file]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`two targets are named "${tenants[0]}"`);
    expect(await query(mainUrl(), `SELECT to_regnamespace('phasectl') AS s`)).toEqual([{ s: null }]);
  });
});

describe('a rename through three releases on 22 databases', () => {
  test('release 1.0.0 with --concurrency 4: every target migrated, the pattern matched only the tenants, safe to deploy', async () => {
    const result = await fleet(['migrate', '--fleet', '--concurrency', '4']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('22 target(s), 4 at a time');
    expect(result.stdout).toMatch(/release 1\.0\.0 applied on 22 of 22 targets: safe to deploy 1\.0\.0\s*$/);
    expect(result.stdout).not.toContain('tenants_archive');
    expect(result.stdout).not.toContain(':phasectl@'); // no URL with its password
    for (const url of allUrls()) {
      expect(await phaseOf(url)).toBe(1);
      expect(
        await query(
          url,
          `SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS DISTINCT FROM job_title`,
        ),
      ).toEqual([{ n: 0 }]);
    }
    expect(
      await query(withDatabase(serverUrl(), `${prefix}_tenants_archive`), `SELECT to_regnamespace('phasectl') AS s`),
    ).toEqual([{ s: null }]);

    const verify = await fleet(['verify', 'users-job-title', '--fleet']);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    expect(verify.stdout).toMatch(/users-job-title: 0 differing rows on 22 of 22 targets\s*$/);
  });

  test('release 1.1.0 while the shard server is stopped: the others finish, the summary and exit 3 name it', async () => {
    await advance({ projectDir: dir, release: '1.1.0' });
    await shardControl.stop();
    const result = await fleet(['migrate', '--fleet', '--concurrency', '4']);
    expect(result.code, result.stdout + result.stderr).toBe(3);
    expect(result.stdout).toMatch(/^shard\s+127\.0\.0\.1:\d+\/shard\s+-\s+\?\s+failed/m);
    expect(result.stdout).toMatch(/shard: cannot connect to PostgreSQL at 127\.0\.0\.1:\d+\/shard/);
    expect(result.stdout).toMatch(
      /release 1\.1\.0 applied on 21 of 22 targets: NOT safe to deploy 1\.1\.0; held back by shard \(failed\)\s*$/,
    );
    expect(result.stdout).not.toContain(':phasectl@');
    for (const url of allUrls().filter((u) => u !== shardUrl())) expect(await phaseOf(url)).toBe(2);
  });

  test('release 1.2.0 while the shard is still behind: the fleet-wide guard holds phase 3 everywhere and names it; --allow-partial-fleet overrides', async () => {
    await advance({ projectDir: dir, release: '1.2.0' });
    const result = await fleet(['migrate', '--fleet', '--concurrency', '4']);
    expect(result.code).toBe(3);
    expect(result.stdout).toMatch(
      /fleet-wide guard: phase 3 of users-job-title \(release 1\.2\.0\) waits until every target has applied phase 2; behind: shard \(cannot connect/,
    );
    expect(result.stdout).toMatch(/^main\s.*\sheld/m);
    for (const url of allUrls().filter((u) => u !== shardUrl())) {
      expect(await phaseOf(url)).toBe(2);
      expect(
        await query(
          url,
          `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'job_title'`,
        ),
      ).toEqual([{ n: 1 }]);
    }
    // --allow-partial-fleet: phase 3 where it can run; the unreachable shard still fails the run.
    const partial = await fleet(['migrate', '--fleet', '--concurrency', '4', '--allow-partial-fleet']);
    expect(partial.code).toBe(3);
    expect(partial.stdout).not.toContain('fleet-wide guard');
    expect(partial.stdout).toMatch(
      /release 1\.2\.0 applied on 21 of 22 targets: NOT safe to deploy 1\.2\.0; held back by shard \(failed\)/,
    );
    expect(await phaseOf(mainUrl())).toBe(3);

    const status = await fleet(['status', '--fleet', '--json']);
    expect(status.code).toBe(3);
    const report = JSON.parse(status.stdout) as {
      safeToDeploy: boolean;
      targets: { target: string; outcome: string }[];
    };
    expect(report.safeToDeploy).toBe(false);
    expect(report.targets.find((t) => t.target === 'shard')?.outcome).toBe('failed');
  });

  test('after the restart the re-run brings the shard to phase 2 first, then phase 3: safe to deploy 1.2.0', async () => {
    await shardControl.start();
    const result = await fleet(['migrate', '--fleet', '--concurrency', '4', '--json']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const events = jsonEvents(result.stdout);
    // The shard caught up on phase 2 first, then phase 3 ran everywhere.
    expect(events.some((e) => e.type === 'fleet-hold')).toBe(true);
    expect(events.filter((e) => e.type === 'file-done' && e.target === 'shard').length).toBeGreaterThan(0);
    const summary = events.at(-1) as unknown as { type: string; safeToDeploy: boolean; line: string };
    expect(summary).toMatchObject({
      type: 'fleet-summary',
      safeToDeploy: true,
      line: 'release 1.2.0 applied on 22 of 22 targets: safe to deploy 1.2.0',
    });
    for (const url of allUrls()) expect(await phaseOf(url)).toBe(3);

    const status = await fleet(['status', '--fleet']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^target\s+release\s+users-job-title/m);
    expect(status.stdout).toMatch(/^shard\s+1\.2\.0\s+phase 3/m);
    expect(status.stdout).toContain('release 1.2.0 applied on 22 of 22 targets: safe to deploy 1.2.0');
  });

  test('library: migrate({ fleet }) reports progress per target; status({ fleet }) gives the matrix', async () => {
    const { migrate, status } = await import('../../src/index.js');
    const events: FleetEvent[] = [];
    const result = await migrate({
      fleet: join(dir, 'fleet.yaml'),
      projectDir: dir,
      env: { ...process.env, ...env },
      log: (event) => events.push(event),
    });
    expect(result).toMatchObject({ safeToDeploy: true, exitCode: 0, release: '1.2.0' });
    expect(result.targets.map((t) => t.outcome)).toEqual(Array(22).fill('up-to-date'));
    expect(new Set(events.flatMap((e) => (e.type === 'target-start' ? [e.target] : []))).size).toBe(22);
    expect(events.filter((e) => e.type === 'target' && e.event.type === 'up-to-date')).toHaveLength(22);
    const report = await status({ fleet: true, projectDir: dir, env: { ...process.env, ...env } });
    expect(report.reports['main']?.changes[0]?.phaseInDatabase).toBe(3);
    expect(report.line).toBe('release 1.2.0 applied on 22 of 22 targets: safe to deploy 1.2.0');
  });
}, 600_000);
