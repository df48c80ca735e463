import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { qualify, quoteIdent } from '../../src/render/quote.js';
import { serverUrl } from '../support/database.js';
import { splitStatements } from '../../src/sql/split-statements.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn, roleIn } from '../support/test-project.js';

/**
 * A move's sync functions are SECURITY INVOKER: they read and update the partner row with the rights of the role
 * that writes. Phase 1 refuses (exit 3, nothing changed) while a role that writes one table could not sync to the
 * other: its writes would fail (no SELECT/UPDATE there), or row-level security would hide the partner row and the
 * write would be copied nowhere, without an error (found by hand: the value was then lost at phase 3).
 */
const cleanups = cleanupsAfterAll();

const SCHEMA = `
  CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
  CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE, bio text);
  INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 10) g;
  INSERT INTO public.profiles SELECT g, g, 'bio ' || g FROM generate_series(1, 10) g;`;

async function plannedMove() {
  const project = await databaseWithFolder(cleanups, SCHEMA, 'phasectl-move-access-');
  await project.ok('init');
  await project.ok('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr');
  await project.ok('advance', '--release', '1.0.0');
  return project;
}

async function phasectlTriggers(url: string): Promise<number> {
  const [row] = await query<{ n: number }>(
    url,
    `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'zz_phasectl_sync_%'`,
  );
  return row!.n;
}

test('a role that writes users without rights on profiles: phase 1 refuses naming the GRANT; granted, its writes sync', async () => {
  const { url, run, ok } = await plannedMove();
  const writer = await roleIn(cleanups, url);
  await query(url, `GRANT SELECT, INSERT, UPDATE ON public.users TO ${writer.name}`);

  // Its SELECT and UPDATE on users reach profiles.address (phase 1 grants them on the new column); the join column
  // profiles.user_id it cannot read.
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    `role ${writer.name} writes "public"."users" and lacks SELECT (user_id) on "public"."profiles"`,
  );
  expect(refused.stderr).toContain(`GRANT SELECT (user_id) ON "public"."profiles" TO ${writer.name};`);
  // Nothing of phase 1 stayed: no column, no trigger; the role's writes go on as before.
  expect(await hasColumn(url, 'public.profiles', 'address')).toBe(false);
  expect(await phasectlTriggers(url)).toBe(0);

  await query(url, `GRANT SELECT (user_id) ON "public"."profiles" TO ${writer.name}`);
  await ok('migrate', '--quiet');
  expect(
    await query(
      url,
      `SELECT privilege_type FROM information_schema.column_privileges
                       WHERE table_name = 'profiles' AND column_name = 'address' AND grantee = $1 ORDER BY 1`,
      [writer.name],
    ),
  ).toEqual([{ privilege_type: 'SELECT' }, { privilege_type: 'UPDATE' }]);
  await query(
    url,
    `SET ROLE ${writer.name};
     UPDATE public.users SET address = 'written by the service' WHERE id = 3;
     RESET ROLE;`,
  );
  expect(await query(url, `SELECT address FROM public.profiles WHERE user_id = 3`)).toEqual([
    { address: 'written by the service' },
  ]);
});

test('a role that only inserts into users: the GRANT printed runs before phase 1 (on users.address, which phase 1 copies)', async () => {
  const { url, run, ok } = await plannedMove();
  const inserter = await roleIn(cleanups, url);
  await query(url, `GRANT INSERT ON public.users TO ${inserter.name}`);
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    `role ${inserter.name} writes "public"."users" and lacks SELECT (user_id, address), UPDATE (address) on "public"."profiles"`,
  );
  const grants = [
    `GRANT SELECT (id, address), UPDATE (address) ON "public"."users" TO ${inserter.name};`,
    `GRANT SELECT (user_id) ON "public"."profiles" TO ${inserter.name};`,
  ];
  expect(refused.stderr).toContain(grants.map((grant) => `    ${grant}`).join('\n'));
  // Run as printed (profiles.address does not exist yet): phase 1 then copies the grants onto it and passes.
  await query(url, grants.join('\n'));
  await ok('migrate', '--quiet');
  await query(
    url,
    `SET ROLE ${inserter.name}; INSERT INTO public.users (id, address) VALUES (11, 'new user'); RESET ROLE;`,
  );
  await query(url, `INSERT INTO public.profiles (id, user_id) VALUES (11, 11)`);
  expect(await query(url, `SELECT address FROM public.profiles WHERE user_id = 11`)).toEqual([{ address: 'new user' }]);
});

test('row-level security on the partner that applies to a writing role: phase 1 refuses, naming it', async () => {
  const { url, run, ok } = await plannedMove();
  const writer = await roleIn(cleanups, url);
  await query(
    url,
    `GRANT SELECT, INSERT, UPDATE ON public.users, public.profiles TO ${writer.name};
     ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
     CREATE POLICY visible ON public.profiles USING (bio IS DISTINCT FROM 'secret');`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    `role ${writer.name} writes "public"."users" and row-level security on "public"."profiles" applies to it`,
  );
  expect(refused.stderr).toContain('BYPASSRLS');
  expect(refused.stderr).not.toContain('GRANT');
  expect(await hasColumn(url, 'public.profiles', 'address')).toBe(false);

  // The owner (phasectl's role here is a superuser) is not subject to it; a role with BYPASSRLS neither.
  await query(url, `ALTER ROLE ${writer.name} BYPASSRLS`);
  await ok('migrate', '--quiet');
  await query(
    url,
    `UPDATE public.profiles SET bio = 'secret' WHERE user_id = 5;
     SET ROLE ${writer.name};
     UPDATE public.users SET address = 'hidden row, still synced' WHERE id = 5;
     RESET ROLE;`,
  );
  expect(await query(url, `SELECT address FROM public.profiles WHERE user_id = 5`)).toEqual([
    { address: 'hidden row, still synced' },
  ]);
});

test('a role that writes users only through a view owned by another role: phase 1 refuses it too (its triggers fire as it)', async () => {
  const { url, run, ok } = await plannedMove();
  const owner = await roleIn(cleanups, url);
  const writer = await roleIn(cleanups, url);
  // The view's owner has the rights on users (and on profiles' join column); the writer only on the view. PostgreSQL
  // checks users' privileges as the view's owner, but the sync trigger runs as the writer: before this guard knew
  // views, phase 1 passed and every INSERT and UPDATE through the view then failed ("permission denied for table
  // profiles"). A security_invoker view is not such a path (its writers need users' privileges themselves).
  // security_invoker views exist from PostgreSQL 15 on.
  const [version] = await query<{ num: number }>(url, `SELECT current_setting('server_version_num')::int AS num`);
  const invoker = version!.num >= 150000;
  await query(
    url,
    `GRANT SELECT, INSERT, UPDATE ON public.users TO ${owner.name};
     GRANT SELECT (user_id) ON public.profiles TO ${owner.name};
     CREATE VIEW public.user_names AS SELECT id, address FROM public.users;
     ALTER VIEW public.user_names OWNER TO ${owner.name};
     GRANT SELECT, INSERT, UPDATE ON public.user_names TO ${writer.name};` +
      (invoker
        ? `CREATE VIEW public.user_names_invoker WITH (security_invoker = true) AS SELECT id FROM public.users;
           GRANT SELECT, INSERT, UPDATE ON public.user_names_invoker TO ${writer.name};`
        : ''),
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    `role ${writer.name} writes "public"."users" and lacks SELECT (user_id, address), UPDATE (address) on "public"."profiles"`,
  );
  expect(refused.stderr).not.toContain(`role ${owner.name}`);
  expect(await hasColumn(url, 'public.profiles', 'address')).toBe(false);

  // profiles.address does not exist before phase 1: its rights come from those on users.address, which phase 1 copies.
  await query(
    url,
    `GRANT SELECT (user_id) ON public.profiles TO ${writer.name};
     GRANT SELECT (id, address), UPDATE (address) ON public.users TO ${writer.name};`,
  );
  await ok('migrate', '--quiet');
  await query(
    url,
    `SET ROLE ${writer.name};
     UPDATE public.user_names SET address = 'through the view' WHERE id = 4;
     RESET ROLE;`,
  );
  expect(await query(url, `SELECT address FROM public.profiles WHERE user_id = 4`)).toEqual([
    { address: 'through the view' },
  ]);
});

test('the rollback of phase 3 re-installs the sync: it refuses the same way for a role granted meanwhile', async () => {
  const { url, run, ok } = await plannedMove();
  await ok('migrate', '--quiet');
  for (const release of ['2.0.0', '3.0.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  // After phase 3 a service that writes only profiles: the restored sync would fail its writes (no rights on users).
  const service = await roleIn(cleanups, url);
  await query(url, `GRANT SELECT, INSERT, UPDATE ON public.profiles TO ${service.name}`);
  const refused = await run('rollback', '--release', '3.0.0', '--yes', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  // Its SELECT and UPDATE on profiles reach the restored users.address (the rollback grants them there); users.id not.
  expect(refused.stderr).toContain(
    `role ${service.name} writes "public"."profiles" and lacks SELECT (id) on "public"."users"`,
  );
  expect(refused.stderr).toContain(`GRANT SELECT (id) ON "public"."users" TO ${service.name}`);
  expect(await hasColumn(url, 'public.users', 'address')).toBe(false);
  await query(url, `GRANT SELECT (id) ON public.users TO ${service.name}`);
  await ok('rollback', '--release', '3.0.0', '--yes', '--quiet');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(true);
});

test('hostile names: the refusal names the role as SQL quotes it, and its GRANTs, one a line, run as printed and let phase 1 pass', async () => {
  const role = `svc "x"; DROP TABLE y; -- ${randomBytes(4).toString('hex')}`;
  const roleIdent = quoteIdent(role);
  await query(serverUrl(), `CREATE ROLE ${roleIdent} NOLOGIN`);
  cleanups.unshift(() => query(serverUrl(), `DROP ROLE ${roleIdent}`).then(() => undefined));
  const schema = 'Odd "S';
  const [users, profiles] = [qualify(schema, 'Us ers'), qualify(schema, "Pro'files")];
  // The role inserts into both tables and may read profiles: it lacks UPDATE on the moved column of each partner
  // (and users' key, which its sync of profiles reads).
  const { url, run, ok } = await databaseWithFolder(
    cleanups,
    `CREATE SCHEMA ${quoteIdent(schema)};
     CREATE TABLE ${users} (id bigint PRIMARY KEY, address text);
     CREATE TABLE ${profiles} (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE, bio text);
     CREATE TABLE public.y (id int);
     INSERT INTO ${users} SELECT g, 'street ' || g FROM generate_series(1, 10) g;
     INSERT INTO ${profiles} SELECT g, g, 'bio ' || g FROM generate_series(1, 10) g;
     GRANT USAGE ON SCHEMA ${quoteIdent(schema)} TO ${roleIdent};
     GRANT INSERT ON ${users} TO ${roleIdent};
     GRANT SELECT, INSERT ON ${profiles} TO ${roleIdent};`,
    'phasectl-move-access-names-',
  );
  await ok('init');
  await ok('plan', 'move', `${users}.address`, `${profiles}.address`, '--on', 'id=user_id', '--id', 'addr');
  await ok('advance', '--release', '1.0.0');

  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(`role ${roleIdent} writes ${users} and lacks UPDATE (address) on ${profiles}`);
  expect(refused.stderr).toContain(
    `role ${roleIdent} writes ${profiles} and lacks SELECT (id, address), UPDATE (address) on ${users}`,
  );
  // A name may hold '; ': the hint prints one statement a line, each ending in ';'.
  const hint = refused.stderr.slice(refused.stderr.indexOf('hint: run these statements'));
  const lines = hint.split('\n').slice(1);
  const grants = lines
    .slice(
      0,
      lines.findIndex((line) => !line.startsWith('    GRANT ')),
    )
    .map((line) => line.trim());
  expect(grants).toEqual([
    `GRANT SELECT (id), UPDATE (address) ON ${users} TO ${roleIdent};`,
    `GRANT SELECT (id, address), UPDATE (address) ON ${users} TO ${roleIdent};`,
  ]);
  expect(await hasColumn(url, profiles, 'address')).toBe(false);
  for (const grant of grants) await query(url, grant);

  await ok('migrate', '--quiet');
  await query(
    url,
    `SET ROLE ${roleIdent};
     INSERT INTO ${profiles} (id, user_id) VALUES (11, 11);
     INSERT INTO ${users} (id, address) VALUES (11, 'written by the service');
     RESET ROLE;`,
  );
  expect(await query(url, `SELECT address FROM ${profiles} WHERE user_id = 11`)).toEqual([
    { address: 'written by the service' },
  ]);
  expect(await query(url, `SELECT count(*)::int AS n FROM public.y`)).toEqual([{ n: 0 }]);
});

test('row-level security enabled on the partner after phase 1: the gate of phase 2 refuses, naming the role whose writes it hides', async () => {
  const { url, run, ok } = await plannedMove();
  await ok('migrate', '--quiet');
  const writer = await roleIn(cleanups, url);
  await query(
    url,
    `GRANT SELECT, INSERT, UPDATE ON public.users, public.profiles TO ${writer.name};
     ALTER TABLE public.profiles ENABLE ROW LEVEL SECURITY;
     CREATE POLICY visible ON public.profiles USING (bio IS DISTINCT FROM 'secret');
     UPDATE public.profiles SET bio = 'secret' WHERE user_id = 6;`,
  );
  // The silent part: the write reaches users only; the sync, run as the writer, sees no profiles row to update.
  await query(
    url,
    `SET ROLE ${writer.name}; UPDATE public.users SET address = 'hidden from the sync' WHERE id = 6; RESET ROLE;`,
  );
  expect(await query(url, `SELECT address FROM public.profiles WHERE user_id = 6`)).toEqual([{ address: 'street 6' }]);

  await ok('advance', '--release', '2.0.0');
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    `role ${writer.name} writes "public"."users" and row-level security on "public"."profiles" applies to it`,
  );
  expect(refused.stderr).toContain('BYPASSRLS');
  const [phase] = await query<{ phase: number }>(url, `SELECT phase FROM phasectl.changes WHERE id = 'addr'`);
  expect(phase!.phase).toBe(1);

  // Fixed: the verify of the gate finds the row the sync skipped; the repair (authority: users in phase 1) settles it.
  await query(url, `ALTER ROLE ${writer.name} BYPASSRLS`);
  expect((await run('migrate', '--quiet')).code).not.toBe(0);
  await ok('backfill', 'addr', '--repair');
  await ok('migrate', '--quiet');
  expect(await query(url, `SELECT address FROM public.profiles WHERE user_id = 6`)).toEqual([
    { address: 'hidden from the sync' },
  ]);
});

/** The definitions of phasectl's functions. */
async function syncFunctions(url: string): Promise<unknown> {
  return await query(
    url,
    `SELECT proname, prosrc FROM pg_proc WHERE pronamespace = 'phasectl'::regnamespace ORDER BY 1`,
  );
}

/** Applies the up files of `release` in the project's db/migrations as a plain runner would (psql -1 -f per file). */
async function applyReleaseWithoutPhasectl(url: string, dir: string, release: string): Promise<void> {
  const folder = join(dir, 'db', 'migrations');
  const files = (await readdir(folder)).filter((name) => name.includes(`_${release}_`) && name.endsWith('.up.sql'));
  const session = await client(url);
  try {
    for (const name of files.sort()) {
      const text = await readFile(join(folder, name), 'utf8');
      if (text.includes('transaction=true')) await session.query(`BEGIN;\n${text}\nCOMMIT;`);
      else for (const statement of splitStatements(text)) await session.query(statement);
    }
  } finally {
    await session.end();
  }
}

test.each([
  { phase: 2, release: '2.0.0', step: 'switch' },
  { phase: 3, release: '3.0.0', step: 'unsync' },
])(
  'row-level security enabled after the phase before: the $step file applied without phasectl (psql) refuses, nothing changed',
  async ({ phase, release }) => {
    const { url, dir, ok } = await plannedMove();
    await ok('migrate', '--quiet');
    if (phase === 3) {
      await ok('advance', '--release', '2.0.0');
      await ok('migrate', '--quiet');
    }
    const writer = await roleIn(cleanups, url);
    // No write hidden yet: the verify file before the step counts 0 differing rows, and the older guards pass.
    await query(
      url,
      `GRANT SELECT, INSERT, UPDATE ON public.users, public.profiles TO ${writer.name};
       ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
       CREATE POLICY visible ON public.users USING (address IS DISTINCT FROM 'secret');`,
    );
    await ok('advance', '--release', release);
    const triggers = await phasectlTriggers(url);
    const functions = await syncFunctions(url);
    await expect(applyReleaseWithoutPhasectl(url, dir, release)).rejects.toThrow(
      `phasectl: the sync of addr cannot see every partner row for every role that writes: role ${writer.name} writes "public"."profiles" and row-level security on "public"."users" applies to it`,
    );
    const [state] = await query<{ phase: number }>(url, `SELECT phase FROM phasectl.changes WHERE id = 'addr'`);
    expect(state!.phase).toBe(phase - 1);
    expect(await phasectlTriggers(url)).toBe(triggers);
    expect(await hasColumn(url, 'public.users', 'address')).toBe(true);
    expect(await syncFunctions(url)).toEqual(functions);
  },
);
