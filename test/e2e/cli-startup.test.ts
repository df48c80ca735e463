import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';
import { phasectlBin, repoRoot, requireBuiltCli } from '../support/cli.js';

/**
 * Start-up of the built CLI. Node 20's module loaders cost about a millisecond and more per file: loaded one by one,
 * the ~560 ES modules of dist/, kysely and zod (and pg's, yaml's … CommonJS files) took ~1 s of CPU before any
 * command began. bin/phasectl.js runs dist/cli.bundle.js (scripts/bundle-cli.mjs), so a command loads a dozen.
 */

/** A module hook that appends the URL of every module Node's ES module loader loads to $PHASECTL_MODULE_LOG. */
const LOG_MODULES = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.PHASECTL_MODULE_LOG, url + '\\n');
  return next(url, context);
}`;

test('bin/phasectl.js loads the bundled CLI: none of dist/ module by module, no kysely or zod file of its own', async () => {
  requireBuiltCli();
  const dir = await mkdtemp(join(tmpdir(), 'phasectl-startup-'));
  try {
    const log = join(dir, 'modules.txt');
    const hook = join(dir, 'log-modules.mjs');
    await writeFile(
      hook,
      `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(LOG_MODULES)}));\n`,
    );
    const result = spawnSync(process.execPath, ['--import', pathToFileURL(hook).href, phasectlBin, '--version'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PHASECTL_MODULE_LOG: log },
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const modules = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    const ours = modules.filter((url) => url.startsWith(pathToFileURL(join(repoRoot, 'dist')).href));
    expect(ours).toEqual([pathToFileURL(join(repoRoot, 'dist/cli.bundle.js')).href]);
    expect(modules.filter((url) => /\/node_modules\/(kysely|zod)\//.test(url))).toEqual([]);
    // Before the bundle: 559 (and ~200 CommonJS files besides). What remains: node: built-ins and libpg-query.
    expect(modules.length, modules.join('\n')).toBeLessThan(50);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
