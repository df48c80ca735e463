import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { withDatabase } from '../../src/db/url.js';
import type { FleetEvent } from '../../src/fleet/events.js';
import { migrate } from '../../src/index.js';
import { serverUrl } from '../support/database.js';
import { generatedProject } from '../support/fixtures-generated.js';
import { query } from '../support/fixtures-project.js';

/**
 * A team that rolls one release at a time (`migrate --fleet --to-release R`) with phase 3 already generated for a
 * later release: phase 3 is not part of the run, so the fleet-wide guard has nothing to hold. It used to report a
 * hold anyway (`fleet-wide guard: phase 3 … waits … (--allow-partial-fleet overrides)`, and `held` in the summary)
 * on a run that was safe to deploy, pointing at a flag that lets phase 3 run on a partial fleet.
 */
const prefix = `h${randomBytes(3).toString('hex')}`;
const names = [`${prefix}_a`, `${prefix}_b`];
let dir: string;
let removeProject: () => Promise<void>;
const TABLE = `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown', n int NOT NULL DEFAULT 0);
               INSERT INTO public.users (id, job_title) SELECT g, 'title ' || g FROM generate_series(1, 50) g;`;

beforeAll(async () => {
  await query(serverUrl(), `CREATE DATABASE ${prefix}_base`);
  const project = await generatedProject(withDatabase(serverUrl(), `${prefix}_base`), {
    rows: 50,
    releases: ['1.0.0', '1.1.0', '1.2.0'],
  });
  dir = project.dir;
  removeProject = project.remove;
  for (const name of names) {
    await query(serverUrl(), `CREATE DATABASE ${name}`);
    await query(withDatabase(serverUrl(), name), TABLE);
  }
  await writeFile(join(dir, 'fleet.yaml'), `targets:\n  - discover: \${HOLD_SERVER}\n    databases: ${prefix}_?\n`);
}, 120_000);

afterAll(async () => {
  for (const name of [...names, `${prefix}_base`])
    await query(serverUrl(), `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
  await removeProject?.();
});

test('--to-release before phase 3: no fleet-wide hold is reported, the summary holds nothing', async () => {
  for (const release of ['1.0.0', '1.1.0']) {
    const events: FleetEvent[] = [];
    const result = await migrate({
      fleet: join(dir, 'fleet.yaml'),
      projectDir: dir,
      toRelease: release,
      env: { ...process.env, HOLD_SERVER: serverUrl() },
      log: (event) => events.push(event),
    });
    expect(result).toMatchObject({ safeToDeploy: true, exitCode: 0, release });
    expect(events.filter((e) => e.type === 'fleet-hold')).toEqual([]);
    expect(result.held).toEqual([]);
  }
  // Phase 3 in scope again: the guard still works as before (every target has phase 2, so nothing is held).
  const result = await migrate({
    fleet: join(dir, 'fleet.yaml'),
    projectDir: dir,
    env: { ...process.env, HOLD_SERVER: serverUrl() },
  });
  expect(result).toMatchObject({ safeToDeploy: true, exitCode: 0, release: '1.2.0', held: [] });
}, 180_000);
