import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { initialPhasesText } from '../../src/commands/init.js';
import { phasectlProcess } from '../support/cli-process.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';

/**
 * `plan refresh` after phase 1, as phasectl advises when a view or function appears on the table: the files of
 * phase 1 that read the change's record (here the referencing foreign key it copies) render the same text, but the
 * record they were stamped from changed. Rewriting their stamp changed the checksum of files the database had
 * applied, and `migrate` then refused to go on ("changed after it was applied").
 */
const cleanups: (() => Promise<void>)[] = [];
let url: string;
let dir: string;
beforeAll(async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  url = db.url;
  dir = await mkdtemp(join(tmpdir(), 'phasectl-refresh-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'phases.yaml'), initialPhasesText());
  await query(
    url,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, code text UNIQUE NOT NULL);
     CREATE TABLE public.orders (id bigint PRIMARY KEY, user_code text REFERENCES public.users (code));
     INSERT INTO public.users SELECT g, 'c' || g FROM generate_series(1, 100) g;
     INSERT INTO public.orders SELECT g, 'c' || g FROM generate_series(1, 50) g;`,
  );
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const cli = (args: string[]) => phasectlProcess(dir, args, { DATABASE_URL: url });
const FOREIGN_KEYS = 'db/migrations/001_1.0.0_users-code-to-handle_p1_06_foreign-keys.up.sql';

test('plan refresh after phase 1 leaves the applied files as they are, and the next phase applies', async () => {
  for (const args of [['plan', 'rename', 'users.code', 'handle'], ['advance', '--release', '1.0.0'], ['migrate']]) {
    const run = await cli(args);
    expect(run.code, `${args.join(' ')}: ${run.stdout}${run.stderr}`).toBe(0);
  }
  const applied = await readFile(join(dir, FOREIGN_KEYS), 'utf8');
  await query(url, 'CREATE VIEW public.user_codes AS SELECT id, code FROM public.users');
  const refresh = await cli(['plan', 'refresh', 'users-code-to-handle']);
  expect(refresh.code, refresh.stderr).toBe(0);
  expect(refresh.stdout).toContain('view public.user_codes');

  const generate = await cli(['generate']);
  expect(generate.code, generate.stderr).toBe(0);
  expect(generate.stdout).not.toContain(`wrote ${FOREIGN_KEYS}`);
  expect(generate.stdout).toContain('kept as written: their text is what this version renders');
  expect(generate.stderr).not.toContain('warning');
  expect(await readFile(join(dir, FOREIGN_KEYS), 'utf8')).toBe(applied);
  expect((await cli(['generate', '--check'])).code).toBe(0);

  expect((await cli(['advance', '--release', '1.1.0'])).code).toBe(0);
  const phase2 = await cli(['migrate']);
  expect(phase2.code, phase2.stdout + phase2.stderr).toBe(0);
  expect(phase2.stdout).toContain('applied');
}, 120_000);
