import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { splitStatements } from '../../src/sql/split-statements.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * A move's phase 3 is two files: unsync (the target's triggers go) and contract (DROP COLUMN on the source). Both
 * read pg_depend first (templates/shared/guard-column-dependents.hbs). The unsync's check is covered by
 * column-dependents-cli; this is the contract's own: an object created after the unsync step ran (another runner
 * applying the files one by one, a failed contract retried a day later) must still stop the DROP COLUMN that would
 * take it along silently, or fail half-way.
 */
const cleanups = cleanupsAfterAll();

const SCHEMA = `
  CREATE TABLE public.users (id bigint PRIMARY KEY, address text, team int);
  CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE);
  INSERT INTO public.users SELECT g, 'street ' || g, g % 3 FROM generate_series(1, 30) g;
  INSERT INTO public.profiles SELECT g, g FROM generate_series(1, 30) g;`;

/** The statements of one migration file, as psql would send them (one transaction when the file asks for it). */
async function applyByHand(url: string, path: string): Promise<void> {
  const text = await readFile(path, 'utf8');
  const session = await client(url);
  try {
    if (text.includes('transaction=true')) await session.query(`BEGIN;\n${text}\nCOMMIT;`);
    else for (const statement of splitStatements(text)) await session.query(statement);
  } finally {
    await session.end();
  }
}

test('move: an index on the source column created after the unsync step stops the contract file, nothing dropped', async () => {
  const { url, dir, ok } = await databaseWithFolder(cleanups, SCHEMA, 'phasectl-move-contract-dependents-');
  await ok('init');
  await ok('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr');
  for (const release of ['1.0.0', '1.1.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  await ok('advance', '--release', '1.2.0');
  const folder = join(dir, 'db', 'migrations');
  const phase3 = (await readdir(folder)).filter((name) => name.includes('_1.2.0_') && name.endsWith('.up.sql')).sort();
  const [verify, unsync, contract] = ['verify', 'unsync', 'contract'].map((step) =>
    phase3.find((name) => name.includes(`_${step}.`)),
  );
  expect(verify && unsync && contract, phase3.join(', ')).toBeTruthy();

  // The verify step is SQL too: its walk records the count the contract's guard wants (0 differing).
  await applyByHand(url, join(folder, verify!));
  await applyByHand(url, join(folder, unsync!));
  await query(url, `CREATE INDEX users_team_address ON public.users (team, address)`);
  await expect(applyByHand(url, join(folder, contract!))).rejects.toThrow(
    /cannot drop address: .*index public\.users_team_address \(DROP COLUMN would drop it\)/,
  );
  expect(await hasColumn(url, 'public.users', 'address')).toBe(true);
  expect(await query(url, `SELECT count(*)::int AS n FROM pg_indexes WHERE indexname = 'users_team_address'`)).toEqual([
    { n: 1 },
  ]);

  // Once the index no longer names the column, the same file drops it.
  await query(url, `DROP INDEX public.users_team_address`);
  await applyByHand(url, join(folder, contract!));
  expect(await hasColumn(url, 'public.users', 'address')).toBe(false);
}, 300_000);
