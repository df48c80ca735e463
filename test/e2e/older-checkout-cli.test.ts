import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * `migrate` or `rollback` from an older checkout (a deploy of the previous tag, another branch): the database has a
 * release applied that this checkout does not know. Refused (exit 2, nothing run), saying it is an older checkout
 * rather than a deleted file.
 */
const cleanups = cleanupsAfterAll();

test('migrate and rollback from a checkout older than the database: exit 2, named as such, nothing run', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0'] });
  const older = await mkdtemp(join(tmpdir(), 'phasectl-older-checkout-'));
  cleanups.push(() => rm(older, { recursive: true, force: true }));
  await cp(dir, older, { recursive: true });
  const run = (project: string, ...args: string[]) => phasectl([...args, '--project', project], { env });
  expect((await run(dir, 'advance', '--release', '1.1.0')).code).toBe(0);
  const migrated = await run(dir, 'migrate', '--quiet');
  expect(migrated.code, migrated.stderr).toBe(0);

  for (const args of [['migrate'], ['rollback', '--release', '1.0.0', '--yes']]) {
    const refused = await run(older, ...args);
    expect(refused.code, `${args.join(' ')}: ${refused.stderr}`).toBe(2);
    expect(refused.stderr).toContain(
      'as is every file of release 1.1.0: this checkout is older than the database (or another branch), or they were deleted; nothing was run',
    );
    expect(refused.stderr).toContain('phasectl rollback --release 1.1.0');
  }
  expect(await query(url, `SELECT phase, release FROM phasectl.changes`)).toEqual([{ phase: 2, release: '1.1.0' }]);
}, 120_000);
