import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { expect, test } from 'vitest';
import { phasectl } from '../support/cli.js';
import { query } from '../support/fixtures-project.js';
import { migratedGeneratedProject } from '../support/planned-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';
import { splitStatements } from '../../src/sql/split-statements.js';

/**
 * Ordinary user mistakes, driven through the built CLI on a generated project (public.users.job_title →
 * favourite_color, change `users-job-title`): none may lose a written value or leave the columns diverging.
 */
const CHANGE = 'users-job-title';
const cleanups = cleanupsAfterAll();

const bothColumns = async (url: string, ids: number[]) =>
  await query<{ id: string; job_title: string | null; favourite_color: string | null }>(
    url,
    'SELECT id, job_title, favourite_color FROM public.users WHERE id = ANY($1::bigint[]) ORDER BY id',
    [ids],
  );

test('in phase 2, backfill --repair keeps the writes the trigger missed (authority: the new column)', async () => {
  const { url, dir, env } = await migratedGeneratedProject(cleanups, { rows: 20, releases: ['1.0.0', '1.1.0'] });
  // A bulk load with the triggers disabled while the new release writes.
  await query(
    url,
    `ALTER TABLE public.users DISABLE TRIGGER ALL;
     UPDATE public.users SET favourite_color = 'written by the new release' WHERE id = 1;
     INSERT INTO public.users (id, favourite_color) VALUES (100, 'inserted by the new release');
     ALTER TABLE public.users ENABLE TRIGGER ALL;`,
  );
  const found = await phasectl(['verify', CHANGE, '--project', dir], { env });
  expect(found.code, found.stdout).toBe(1);
  expect(found.stderr).toContain('--repair');

  const repaired = await phasectl(['backfill', CHANGE, '--repair', '--project', dir, '--quiet'], { env });
  expect(repaired.code, repaired.stderr).toBe(0);
  expect(await bothColumns(url, [1, 2, 100])).toEqual([
    { id: '1', job_title: 'written by the new release', favourite_color: 'written by the new release' },
    { id: '2', job_title: 'title 2', favourite_color: 'title 2' },
    { id: '100', job_title: 'inserted by the new release', favourite_color: 'inserted by the new release' },
  ]);
  const clean = await phasectl(['verify', CHANGE, '--project', dir], { env });
  expect(clean.code, clean.stdout + clean.stderr).toBe(0);
});

test('in phase 2 of a move, backfill --repair keeps the target writes the trigger missed and fills an empty target', async () => {
  const { url, dir, env } = await migratedGeneratedProject(cleanups, {
    rows: 20,
    releases: ['1.0.0', '1.1.0'],
    move: true,
  });
  await query(
    url,
    `ALTER TABLE public.profiles DISABLE TRIGGER ALL;
     UPDATE public.profiles SET address = 'written by the new release' WHERE user_id = 1;
     UPDATE public.profiles SET address = NULL WHERE user_id = 2;
     ALTER TABLE public.profiles ENABLE TRIGGER ALL;`,
  );
  const repaired = await phasectl(['backfill', 'users-address', '--repair', '--project', dir, '--quiet'], { env });
  expect(repaired.code, repaired.stderr).toBe(0);
  expect(
    await query(
      url,
      `SELECT u.id, u.address AS source, p.address AS target FROM public.users u JOIN public.profiles p ON p.user_id = u.id
        WHERE u.id IN (1, 2, 3) ORDER BY u.id`,
    ),
  ).toEqual([
    { id: '1', source: 'written by the new release', target: 'written by the new release' },
    { id: '2', source: 'street 2', target: 'street 2' },
    { id: '3', source: 'street 3', target: 'street 3' },
  ]);
  const clean = await phasectl(['verify', 'users-address', '--project', dir], { env });
  expect(clean.code, clean.stdout + clean.stderr).toBe(0);
});

const phaseInDatabase = async (url: string) =>
  (await query<{ phase: number }>(url, `SELECT phase FROM phasectl.changes WHERE id = $1`, [CHANGE]))[0]?.phase;

test('a DEFAULT added by hand to the new column before phase 3 stops phase 2 (it would swallow old-release inserts): exit 3, the fix', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0', '1.1.0'] });
  const first = await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env });
  expect(first.code, first.stderr).toBe(0);
  await query(url, `ALTER TABLE public.users ALTER COLUMN favourite_color SET DEFAULT 'unknown'`);
  // What it does: the old release's insert loses its value, and both columns agree, so verify cannot see it.
  await query(url, `INSERT INTO public.users (id, job_title) VALUES (100, 'written by the old release')`);
  expect(await bothColumns(url, [100])).toEqual([{ id: '100', job_title: 'unknown', favourite_color: 'unknown' }]);

  const refused = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(`public.users.favourite_color has a DEFAULT ('unknown'::text)`);
  expect(refused.stderr).toContain('ALTER TABLE "public"."users" ALTER COLUMN "favourite_color" DROP DEFAULT');
  expect(await phaseInDatabase(url)).toBe(1);

  await query(url, `ALTER TABLE public.users ALTER COLUMN favourite_color DROP DEFAULT`);
  const second = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(second.code, second.stderr).toBe(0);
  await query(url, `INSERT INTO public.users (id, job_title) VALUES (101, 'written by the old release')`);
  expect(await bothColumns(url, [101])).toEqual([
    { id: '101', job_title: 'written by the old release', favourite_color: 'written by the old release' },
  ]);
});

test('a sync trigger left disabled after a bulk load stops the next phase: exit 3, names it and the fix; enabled, the run goes on', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, {
    rows: 10,
    releases: ['1.0.0', '1.1.0', '1.2.0'],
  });
  const first = await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env });
  expect(first.code, first.stderr).toBe(0);
  await query(url, `ALTER TABLE public.users DISABLE TRIGGER ALL`);

  const refused = await phasectl(['migrate', '--project', dir, '--to-release', '1.1.0', '--quiet'], { env });
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'sync trigger(s) of users-job-title disabled: zz_phasectl_sync_users_job_title on public.users',
  );
  expect(refused.stderr).toContain(
    'ALTER TABLE public.users ENABLE ALWAYS TRIGGER "zz_phasectl_sync_users_job_title$insert";',
  );
  expect(refused.stderr).toContain(
    'ALTER TABLE public.users ENABLE ALWAYS TRIGGER "zz_phasectl_sync_users_job_title$copy";',
  );
  expect(refused.stderr).toContain('phasectl backfill users-job-title --repair');
  expect(await phaseInDatabase(url)).toBe(1);

  const status = await phasectl(['status', '--project', dir], { env });
  expect(status.stdout).toContain('drift: sync trigger disabled on public.users while phase 1 is applied');
  // The fix it names (ENABLE TRIGGER ALL would leave them firing only outside replica mode: refused too).
  await query(
    url,
    `ALTER TABLE public.users ENABLE TRIGGER ALL, ENABLE ALWAYS TRIGGER zz_phasectl_sync_users_job_title,
       ENABLE ALWAYS TRIGGER "zz_phasectl_sync_users_job_title$insert", ENABLE ALWAYS TRIGGER "zz_phasectl_sync_users_job_title$copy"`,
  );
  const second = await phasectl(['migrate', '--project', dir, '--to-release', '1.1.0', '--quiet'], { env });
  expect(second.code, second.stderr).toBe(0);
  expect(await phaseInDatabase(url)).toBe(2);

  // Disabled again in phase 2 (the new release's writes would not reach the old column): phase 3 stops too.
  await query(url, `ALTER TABLE public.users DISABLE TRIGGER zz_phasectl_sync_users_job_title`);
  const third = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(third.code, third.stderr).toBe(3);
  expect(third.stderr).toContain('disabled: zz_phasectl_sync_users_job_title on public.users');
  expect(await phaseInDatabase(url)).toBe(2);
});

test('a table renamed by hand mid-flight stops the next phase with the object named and the fix (not a search_path note)', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0', '1.1.0'] });
  const first = await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env });
  expect(first.code, first.stderr).toBe(0);
  await query(url, `ALTER TABLE public.users RENAME TO members`);
  const refused = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('table public.users does not exist, but users-job-title is in flight on it');
  expect(refused.stderr).toContain('it was renamed to members by hand (public.members carries its sync triggers)');
  expect(refused.stderr).toContain('rename it back: ALTER TABLE "public"."members" RENAME TO "users";');
  expect(refused.stderr).not.toContain('SET SCHEMA');
  expect(refused.stderr).not.toContain('search_path');
  expect(await phaseInDatabase(url)).toBe(1);
  await query(url, `ALTER TABLE public.members RENAME TO users`);
  const second = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(second.code, second.stderr).toBe(0);
  expect(await phaseInDatabase(url)).toBe(2);
});

test('a table moved to another schema mid-flight: migrate and rollback refuse (exit 3, nothing changed) with the SET SCHEMA that puts it back', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0', '1.1.0'] });
  const first = await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env });
  expect(first.code, first.stderr).toBe(0);
  await query(url, `CREATE SCHEMA archive; ALTER TABLE public.users SET SCHEMA archive`);
  const columns = async () =>
    await query(
      url,
      `SELECT attname FROM pg_attribute WHERE attrelid = 'archive.users'::regclass AND attnum > 0 ORDER BY attnum`,
    );
  const migrations = async () => await query(url, `SELECT name FROM phasectl.migrations ORDER BY name`);
  const before = { columns: await columns(), migrations: await migrations() };

  const refused = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'table public.users does not exist, but users-job-title is in flight on it: it was moved to schema archive by hand (archive.users carries its sync triggers)',
  );
  expect(refused.stderr).toContain('move it back: ALTER TABLE "archive"."users" SET SCHEMA "public";');
  expect(refused.stderr).not.toContain('RENAME');
  expect(await phaseInDatabase(url)).toBe(1);

  // rollback checks it too, before its first down file: no "relation does not exist", no search_path note.
  const rollback = await phasectl(['rollback', '--release', '1.0.0', '--project', dir, '--yes', '--quiet'], { env });
  expect(rollback.code, rollback.stderr).toBe(3);
  expect(rollback.stderr).toContain('it was moved to schema archive by hand');
  expect(rollback.stderr).toContain('ALTER TABLE "archive"."users" SET SCHEMA "public";');
  expect(rollback.stderr).toContain('`phasectl rollback --release 1.0.0` again');
  expect(rollback.stderr).not.toContain('does not exist: ');
  expect(rollback.stderr).not.toContain('search_path');
  expect({ columns: await columns(), migrations: await migrations() }).toEqual(before);
  expect(await phaseInDatabase(url)).toBe(1);

  // The statement it names, and the rollback goes through.
  await query(url, `ALTER TABLE "archive"."users" SET SCHEMA "public"`);
  const again = await phasectl(['rollback', '--release', '1.0.0', '--project', dir, '--yes', '--quiet'], { env });
  expect(again.code, again.stderr).toBe(0);
  expect(await phaseInDatabase(url)).toBeUndefined();
});

test('the phasectl schema dropped mid-flight: migrate refuses to re-run phase 1 over the values the new release wrote (exit 3); the fix it names loses nothing', async () => {
  const { url, dir, env } = await migratedGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0', '1.1.0'] });
  await query(url, `DROP SCHEMA phasectl CASCADE`); // a "clean-up": the sync triggers go with it
  await query(url, `UPDATE public.users SET favourite_color = 'written by the new release' WHERE id = 1`);

  const refused = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'public.users.favourite_color already exists and holds values, but this database has no record of phase 1 of users-job-title',
  );
  expect(await bothColumns(url, [1])).toEqual([
    { id: '1', job_title: 'title 1', favourite_color: 'written by the new release' },
  ]);

  await query(
    url,
    `UPDATE public.users SET job_title = favourite_color WHERE favourite_color IS DISTINCT FROM job_title;
     ALTER TABLE public.users DROP COLUMN favourite_color CASCADE`,
  );
  const again = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(again.code, again.stderr).toBe(0);
  expect(await bothColumns(url, [1, 2])).toEqual([
    { id: '1', job_title: 'written by the new release', favourite_color: 'written by the new release' },
    { id: '2', job_title: 'title 2', favourite_color: 'title 2' },
  ]);
});

test("a change's id renamed in phases.yaml mid-flight: migrate refuses to install a second sync under the new id (exit 3) and says to put the id back", async () => {
  const { url, dir, env } = await migratedGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0'] });
  const phasesFile = join(dir, 'phases.yaml');
  const original = await readFile(phasesFile, 'utf8');
  await writeFile(phasesFile, original.replace(`- id: ${CHANGE}\n`, '- id: job-title-rename\n'));
  const advanced = await phasectl(['advance', '--project', dir, '--release', '1.1.0'], { env });
  expect(advanced.code, advanced.stderr).toBe(0);

  const refused = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    "are already kept in sync by another change's trigger (zz_phasectl_sync_users_job_title, zz_phasectl_sync_users_job_title$copy)",
  );
  expect(refused.stderr).toContain('put the old id back in phases.yaml');
  const triggers = await query(
    url,
    `SELECT count(*)::int AS n FROM pg_trigger WHERE tgrelid = 'public.users'::regclass AND NOT tgisinternal`,
  );
  expect(triggers).toEqual([{ n: 3 }]); // insert, update, update of the other column: the old id's only
  // status names the change the database still has in flight.
  const shown = await phasectl(['status', '--project', dir], { env });
  expect(shown.stdout).toContain(
    `${CHANGE}: at phase 1 (release 1.0.0) in the database, but not in phases.yaml: its sync triggers still run`,
  );
});

test('phases applied by another runner (psql) first: migrate goes on after phase 1, and refuses to re-run phase 1 under phase 2 with the reason', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0', '1.1.0'] });
  // What `psql -f` does with each up file of a phase: one statement at a time (the backfill's DO block commits).
  const applyByHand = async (phase: number) => {
    const names = (await readdir(join(dir, 'db', 'migrations')))
      .filter((name) => name.includes(`_p${phase}_`) && name.endsWith('.up.sql'))
      .sort();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const name of names) {
        for (const statement of splitStatements(await readFile(join(dir, 'db', 'migrations', name), 'utf8'))) {
          if (/^\s*(BEGIN|COMMIT)\s*;?\s*$/i.test(statement)) continue;
          await client.query(statement);
        }
      }
    } finally {
      await client.end();
    }
  };
  await applyByHand(1);
  await query(url, `INSERT INTO public.users (id, job_title) VALUES (1000, 'written after phase 1')`);

  // phasectl.changes records phase 1 (the expand file wrote it): phase 1 again is safe, then phase 2.
  const migrated = await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env });
  expect(migrated.code, migrated.stderr).toBe(0);
  expect(migrated.stderr).not.toContain('no record of phase 1');
  const differing = await query<{ n: number }>(
    url,
    'SELECT count(*)::int AS n FROM public.users WHERE job_title IS DISTINCT FROM favourite_color',
  );
  expect(differing).toEqual([{ n: 0 }]);

  // Phase 2 by hand too: phasectl would hand the authority back to the old column by re-running phase 1.
  await query(url, 'DELETE FROM phasectl.migrations');
  await applyByHand(2);
  const refused = await phasectl(['migrate', '--project', dir, '--quiet'], { env });
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    `${CHANGE} is at phase 2 in this database (phasectl.changes), applied by another runner`,
  );
  expect(refused.stderr).not.toContain('no record of phase 1');
});

test('a child table by INHERITS created in flight: phase 1 refuses to start, the gate of phase 2 refuses, naming it', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0', '1.1.0'] });
  const migrate = (release: string) =>
    phasectl(['migrate', '--project', dir, '--to-release', release, '--quiet'], { env });
  // Created after plan, before phase 1: the expand step refuses, nothing of it stays.
  await query(url, `CREATE TABLE public.vip_users (perks text) INHERITS (public.users)`);
  const early = await migrate('1.0.0');
  expect(early.code, early.stderr).toBe(3);
  expect(early.stderr).toContain('has child tables by INHERITS (public.vip_users)');
  expect(await query(url, `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'zz_phasectl_sync_%'`)).toEqual([
    { n: 0 },
  ]);
  await query(url, `DROP TABLE public.vip_users`);
  expect((await migrate('1.0.0')).code).toBe(0);

  // Created during phase 1: its rows would never be synced; phase 2's gate stops before anything changes.
  await query(
    url,
    `CREATE TABLE public.vip_users (perks text) INHERITS (public.users);
     INSERT INTO public.vip_users (id, job_title, favourite_color) VALUES (500, 'vip', 'vip')`,
  );
  const gate = await migrate('1.1.0');
  expect(gate.code, gate.stderr).toBe(3);
  expect(gate.stderr).toContain('"public"."users" has child tables by INHERITS (public.vip_users), created while');
  expect(gate.stderr).toContain('NO INHERIT');
  expect(await query(url, `SELECT phase FROM phasectl.changes WHERE id = $1`, [CHANGE])).toEqual([{ phase: 1 }]);
  await query(url, `ALTER TABLE public.vip_users NO INHERIT public.users`);
  const after = await migrate('1.1.0');
  expect(after.code, after.stderr).toBe(0);
});

test('the switch and the switch-back applied statement by statement (psql without -1): at every step, both releases keep their writes', async () => {
  const { url, dir, env } = await databaseWithGeneratedProject(cleanups, { rows: 10, releases: ['1.0.0', '1.1.0'] });
  const migrated = await phasectl(['migrate', '--project', dir, '--to-release', '1.0.0', '--quiet'], { env });
  expect(migrated.code, migrated.stderr).toBe(0);
  const verified = await phasectl(['verify', CHANGE, '--project', dir], { env });
  expect(verified.code, verified.stderr).toBe(0);
  const lost: string[] = [];
  let step = 0;
  const bothReleasesWrite = async (client: pg.Client, where: string) => {
    step += 1;
    await client.query(`UPDATE public.users SET job_title = $1 WHERE id = 1`, [`old ${step}`]);
    await client.query(`UPDATE public.users SET favourite_color = $1 WHERE id = 2`, [`new ${step}`]);
    const { rows } = await client.query<{ id: string; job_title: string; favourite_color: string }>(
      'SELECT id, job_title, favourite_color FROM public.users WHERE id IN (1, 2) ORDER BY id',
    );
    const expected = [`old ${step}`, `new ${step}`];
    rows.forEach((row, i) => {
      if (row.job_title !== expected[i] || row.favourite_color !== expected[i])
        lost.push(`${where}: row ${row.id} holds ${row.job_title} / ${row.favourite_color}, wrote ${expected[i]}`);
    });
  };
  const byStatement = async (suffix: string) => {
    const [name] = (await readdir(join(dir, 'db', 'migrations'))).filter((file) => file.endsWith(suffix));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      for (const statement of splitStatements(await readFile(join(dir, 'db', 'migrations', name!), 'utf8'))) {
        await client.query(statement);
        await bothReleasesWrite(client, `${name} after ${statement.slice(0, 60).replace(/\s+/g, ' ')}`);
      }
    } finally {
      await client.end();
    }
  };
  await byStatement('_p2_02_switch.up.sql');
  expect(await query(url, `SELECT phase FROM phasectl.changes WHERE id = $1`, [CHANGE])).toEqual([{ phase: 2 }]);
  await byStatement('_p2_01_switch-back.down.sql');
  expect(lost).toEqual([]);
  expect(step).toBeGreaterThan(10);
});
