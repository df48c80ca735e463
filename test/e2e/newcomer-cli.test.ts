import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { createTestDatabase } from '../support/database.js';

/** Habits a newcomer brings, tried on the built CLI (bin/phasectl.js; `npm test` builds first). */

const bin = resolve(import.meta.dirname, '../../bin/phasectl.js');

function phasectl(cwd: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [bin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, DATABASE_URL: undefined, PHASECTL_RELEASE: undefined, NO_COLOR: '1' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const changeLines = (releases: string) => [
  '  - id: users-email',
  '    rename: { schema: public, table: users, from: email, to: contact_email }',
  '    column: { type: text, nullable: true }',
  '    key: { columns: [id], types: [bigint] }',
  `    releases: ${releases}`,
];

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phasectl-newcomer-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('release names', () => {
  const shipped = ['version: 1', 'releases: [1.7.0]', 'changes:', ...changeLines('{ phase1: 1.7.0 }'), ''].join('\n');

  test('a release that does not sort after the latest is refused, unless --force-order', async () => {
    await writeFile(join(dir, 'phases.yaml'), shipped);
    const refused = phasectl(dir, ['advance', '--release', '1.0.1']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('release 1.0.1 does not sort after the latest release 1.7.0');
    expect(refused.stderr).toContain('--force-order');
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(shipped);
    // 1.10.0 sorts after 1.7.0 (numbers compare as numbers).
    const later = phasectl(dir, ['advance', '--release', '1.10.0']);
    expect(later.stderr).toBe('');
    expect(later.code).toBe(0);
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toContain('phase2: 1.10.0');
  });

  test('--force-order accepts a name that does not sort', async () => {
    await writeFile(join(dir, 'phases.yaml'), shipped);
    const forced = phasectl(dir, ['advance', '--release', '1.0.1', '--force-order']);
    expect(forced.code).toBe(0);
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toContain('phase2: 1.0.1');
  });

  test('a 300-character release name is refused before anything is written', async () => {
    const planned = ['version: 1', 'changes:', ...changeLines('{}'), ''].join('\n');
    await writeFile(join(dir, 'phases.yaml'), planned);
    const result = phasectl(dir, ['advance', '--release', `1.${'0'.repeat(298)}`]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is not a release name\n {2}fix: .*at most 64 characters/);
    expect(await readFile(join(dir, 'phases.yaml'), 'utf8')).toBe(planned);
  });
});

describe('phases.yaml that is hostile or mistyped', () => {
  test('a typo is reported first, with every other problem listed', async () => {
    const typo = [
      'version: 1',
      'changes:',
      '  - id: users-email',
      '    rename: { schema: public, tabel: users, from: email, to: contact_email }',
      '    column: { type: text, nullable: true }',
      '',
    ].join('\n');
    await writeFile(join(dir, 'phases.yaml'), typo);
    const result = phasectl(dir, ['generate']);
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n');
    expect(lines[0]).toMatch(
      /^error: .*phases\.yaml:4:\d+: unknown key "tabel" in changes\[0\]\.rename \(did you mean "table"\?\)/,
    );
    expect(result.stderr).toMatch(/also: .*phases\.yaml:\d+:\d+: missing key "table" in changes\[0\]\.rename/);
    expect(result.stderr).toMatch(/also: .*missing key "key" in changes\[0\]/);
  });

  test('deeply nested YAML is bad input (exit 2), not a crash', async () => {
    await writeFile(join(dir, 'phases.yaml'), `version: 1\nchanges: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`);
    const result = phasectl(dir, ['generate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('phases.yaml nests too deeply to read');
  });

  test('an alias bomb is named as such', async () => {
    let bomb = 'version: 1\nchanges: []\nx0: &x0 [a, a, a, a, a, a, a, a, a]\n';
    for (let level = 1; level < 9; level++)
      bomb += `x${level}: &x${level} [${Array(9)
        .fill(`*x${level - 1}`)
        .join(', ')}]\n`;
    await writeFile(join(dir, 'phases.yaml'), bomb);
    const result = phasectl(dir, ['generate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('too many aliases');
  });

  test('a phases.yaml over the size limit is refused without being parsed', async () => {
    await writeFile(join(dir, 'phases.yaml'), `version: 1\nchanges: []\n${'#'.repeat(5 * 1024 * 1024)}\n`);
    const result = phasectl(dir, ['generate']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/phases\.yaml is 5\.0 MB, more than the 4 MB phasectl reads/);
  });
});

/** Runs the CLI with its stdout read until the first chunk, then closed (like `| head -1`). */
function phasectlIntoClosedPipe(
  cwd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.once('data', () => child.stdout.destroy());
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stderr }));
  });
}

describe('output into a closed pipe', () => {
  test('migrate --dry-run | head and migrate --json | head end quietly; the migration and backfill still complete', async () => {
    const database = await createTestDatabase();
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      await client.query(`CREATE TABLE users (id bigint PRIMARY KEY, email text);
        INSERT INTO users SELECT g, 'user' || g || '@example.com' FROM generate_series(1, 20000) AS g`);
      const env = { DATABASE_URL: database.url };
      expect(phasectl(dir, ['init']).code).toBe(0);
      const planned = spawnSync(process.execPath, [bin, 'plan', 'rename', 'users.email', 'contact_email'], {
        cwd: dir,
        env: { ...process.env, ...env },
        encoding: 'utf8',
      });
      expect(planned.stderr).toBe('');
      expect(phasectl(dir, ['advance', '--release', '1.0.0']).code).toBe(0);

      const dryRun = await phasectlIntoClosedPipe(dir, ['migrate', '--dry-run'], env);
      expect(dryRun.stderr).not.toMatch(/EPIPE|Error/);
      expect(dryRun.code).toBe(0);

      const migrated = await phasectlIntoClosedPipe(dir, ['migrate', '--json', '--batch-size', '500'], env);
      expect(migrated.stderr).not.toMatch(/EPIPE|Error/);
      expect(migrated.code).toBe(0);
      const { rows } = await client.query(
        `SELECT finished_at IS NOT NULL AS finished FROM phasectl.backfills WHERE direction = 'up'`,
      );
      expect(rows).toEqual([{ finished: true }]);
      const differing = await client.query(
        `SELECT count(*)::int AS n FROM users WHERE contact_email IS DISTINCT FROM email`,
      );
      expect(differing.rows[0].n).toBe(0);
    } finally {
      await client.end();
      await database.drop();
    }
  }, 60_000);
});

describe('the database URL', () => {
  test('DATABASE_URL=notaurl is bad input (exit 2), not a DNS failure', async () => {
    await writeFile(join(dir, 'phases.yaml'), 'version: 1\n');
    const result = spawnSync(process.execPath, [bin, 'migrate'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: 'notaurl' },
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('the database URL "notaurl" is not a PostgreSQL URL');
    const http = spawnSync(process.execPath, [bin, 'status'], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, DATABASE_URL: 'https://user:secret@example.com/db' },
    });
    expect(http.status).toBe(2);
    expect(http.stderr).toContain('is not a PostgreSQL URL');
    expect(http.stderr).not.toContain('secret');
  });

  test('the library without a URL says "no database given"', async () => {
    const { migrate, InputError } = await import('../../src/index.js');
    await writeFile(join(dir, 'phases.yaml'), 'version: 1\n');
    const attempt = migrate({ projectDir: dir } as unknown as Parameters<typeof migrate>[0]);
    await expect(attempt).rejects.toBeInstanceOf(InputError);
    await expect(attempt).rejects.toThrow('no database given');
  });
});

describe('the npm package', () => {
  const repoRoot = resolve(import.meta.dirname, '../..');

  test('ships the docs its messages point to', () => {
    const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(packed.status).toBe(0);
    const files = (JSON.parse(packed.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map(
      (file) => file.path,
    );
    for (const doc of [
      'docs/internals.md',
      'docs/check.md',
      'docs/privileges.md',
      'docs/supported-postgres.md',
      'README.md',
      'bin/phasectl.js',
      'dist/cli.bundle.js',
      'require.cjs',
    ]) {
      expect(files).toContain(doc);
    }
  });

  test("require('phasectl') from CommonJS says how to load it", async () => {
    const { mkdir, symlink } = await import('node:fs/promises');
    await mkdir(join(dir, 'node_modules'));
    await symlink(repoRoot, join(dir, 'node_modules', 'phasectl'));
    const required = spawnSync(process.execPath, ['-e', "require('phasectl')"], { cwd: dir, encoding: 'utf8' });
    expect(required.status).not.toBe(0);
    expect(required.stderr).toContain("from CommonJS use `const { migrate } = await import('phasectl')`");
    const imported = spawnSync(
      process.execPath,
      ['-e', "import('phasectl').then((m) => console.log(typeof m.migrate))"],
      { cwd: dir, encoding: 'utf8' },
    );
    expect(imported.stdout.trim()).toBe('function');
  });
});

test('every command has examples in its --help', () => {
  for (const command of [
    'init',
    'plan rename',
    'plan move',
    'advance',
    'generate',
    'migrate',
    'rollback',
    'backfill',
    'verify',
    'status',
    'check',
    'demo',
  ]) {
    const result = phasectl(dir, [...command.split(' '), '--help']);
    expect(result.code, command).toBe(0);
    expect(result.stdout, command).toMatch(/Examples?:\n\s+\$ .*phasectl /);
  }
});
