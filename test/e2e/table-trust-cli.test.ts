import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { quoteIdent, quoteLiteral } from '../../src/render/quote.js';
import { query } from '../support/fixtures-project.js';
import { hostileCodeRole, usersWithTitles } from '../support/planned-project.js';
import {
  cleanupsAfterAll,
  cliIn,
  databaseWithFolder,
  hasColumn,
  roleIn,
  type TestProject,
} from '../support/test-project.js';

/**
 * The backfill writes the tables of a change as the role running phasectl (here a superuser, as many teams run
 * migrations), so their triggers, rules and the functions their indexes call run with that role's rights. Code of
 * another role there would become superuser code. phasectl refuses it on ordinary tables too, at `plan` (exit 2,
 * phases.yaml unchanged) and, when planted after `plan`, before the backfill writes a row (exit 3); code of the
 * table's owner, or of a role the migrator is a member of, still migrates.
 */
const cleanups = cleanupsAfterAll();

/** A role with code of its own: `hostile_code.grab()`, a trigger function that makes the role superuser when a superuser runs it, and notes each run. */
async function hostileRole(url: string) {
  const role = await hostileCodeRole(
    cleanups,
    url,
    (name) => `CREATE FUNCTION hostile_code.grab() RETURNS trigger LANGUAGE plpgsql AS $f$
     BEGIN
       INSERT INTO hostile_code.runs VALUES (current_user);
       EXECUTE pg_catalog.format('ALTER ROLE %I SUPERUSER', ${quoteLiteral(name)});
       RETURN NEW;
     END $f$;
     CREATE FUNCTION hostile_code.bucket(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $f$ SELECT $1 / 10 $f$;`,
  );
  /** What the role gained: whether it is superuser now, and how often its trigger function ran. */
  const gained = async () => ({
    superuser: (
      await query<{ s: boolean }>(url, `SELECT rolsuper AS s FROM pg_roles WHERE rolname = $1`, [role.name])
    )[0]!.s,
    runs: await role.runs(),
  });
  return { ...role, gained };
}

/** phases.yaml does not hold change `id`. */
async function notPlanned(project: TestProject, id: string) {
  expect(await readFile(join(project.dir, 'phases.yaml'), 'utf8')).not.toContain(id);
}

test("rename: another role's trigger function on the table is refused at plan, and stops the backfill when planted after plan", async () => {
  const project = await databaseWithFolder(cleanups, usersWithTitles(200), 'phasectl-table-trust-');
  const { url, run, ok } = project;
  const hostile = await hostileRole(url);
  await ok('init');
  // The table's owner put it there, but the function's owner can replace its body at any time.
  await query(
    url,
    `CREATE TRIGGER grab BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION hostile_code.grab()`,
  );
  const refused = await run('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(
    `trigger grab on table public.users runs function hostile_code.grab(), owned by role ${hostile.name}`,
  );
  expect(refused.stderr).toContain('ALTER FUNCTION hostile_code.grab() OWNER TO');
  await notPlanned(project, 'jt');

  await query(url, `DROP TRIGGER grab ON public.users`);
  await ok('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  await ok('advance', '--release', '1.0.0');
  // After plan, the role is granted TRIGGER and adds its trigger itself.
  await query(url, `GRANT TRIGGER ON public.users TO ${hostile.ident}`);
  await query(
    hostile.url,
    `CREATE TRIGGER grab BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION hostile_code.grab()`,
  );
  const stopped = await run('migrate');
  expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(3);
  expect(stopped.stderr).toContain(`role ${hostile.name} may create triggers on table public.users`);
  expect(stopped.stderr).toContain(`REVOKE TRIGGER ON public.users FROM ${hostile.name}`);
  expect(await hostile.gained()).toEqual({ superuser: false, runs: 0 });
  // Phase 1's expand file checks first: the column is not even added.
  expect(await hasColumn(url, 'public.users', 'title')).toBe(false);

  // The fixes the hint names: the same run goes through.
  await query(url, `REVOKE TRIGGER ON public.users FROM ${hostile.ident}; DROP TRIGGER grab ON public.users`);
  await ok('migrate', '--quiet');
  expect(await hostile.gained()).toEqual({ superuser: false, runs: 0 });
  expect(
    await query(url, `SELECT count(*)::int AS n FROM public.users WHERE title IS DISTINCT FROM job_title`),
  ).toEqual([{ n: 0 }]);
  // `verify` checks again too: TRIGGER granted to PUBLIC since.
  await query(url, `GRANT TRIGGER ON public.users TO PUBLIC`);
  const verify = await run('verify', 'jt');
  expect(verify.code, `${verify.stdout}\n${verify.stderr}`).toBe(3);
  expect(verify.stderr).toContain('PUBLIC may create triggers on table public.users');
}, 300_000);

test("move: the target's index calling another role's function is refused at plan; its trigger planted after plan stops the backfill", async () => {
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
     CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE);
     INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 50) g;
     INSERT INTO public.profiles SELECT g, g FROM generate_series(1, 50) g;`,
    'phasectl-table-trust-move-',
  );
  const { url, run, ok } = project;
  const hostile = await hostileRole(url);
  await ok('init');
  const move = ['plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr'];
  await query(url, `CREATE INDEX profiles_bucket ON public.profiles (hostile_code.bucket(user_id))`);
  const refused = await run(...move);
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(
    `index public.profiles_bucket of table public.profiles calls function hostile_code.bucket(bigint), owned by role ${hostile.name}`,
  );
  await notPlanned(project, 'addr');

  await query(url, `DROP INDEX public.profiles_bucket`);
  await ok(...move);
  await ok('advance', '--release', '1.0.0');
  await query(
    url,
    `CREATE TRIGGER grab BEFORE UPDATE ON public.profiles FOR EACH ROW EXECUTE FUNCTION hostile_code.grab()`,
  );
  const stopped = await run('migrate');
  expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(3);
  expect(stopped.stderr).toContain(
    `trigger grab on table public.profiles runs function hostile_code.grab(), owned by role ${hostile.name}`,
  );
  expect(await hostile.gained()).toEqual({ superuser: false, runs: 0 });
  expect(await hasColumn(url, 'public.profiles', 'address')).toBe(false);

  await query(url, `DROP TRIGGER grab ON public.profiles`);
  await ok('migrate', '--quiet');
  expect(await hostile.gained()).toEqual({ superuser: false, runs: 0 });
  expect(await query(url, `SELECT count(address)::int AS n FROM public.profiles`)).toEqual([{ n: 50 }]);
}, 300_000);

/**
 * A rule on UPDATE rewrites the backfill's UPDATE: `DO INSTEAD NOTHING` makes it write nothing (verification then
 * fails after the release shipped), `DO ALSO` runs more statements as the migrator. Refused at plan.
 */
test('a rule on UPDATE of the table is refused at plan', async () => {
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text);
     CREATE RULE keep AS ON UPDATE TO public.users DO INSTEAD NOTHING;`,
    'phasectl-table-trust-rule-',
  );
  await project.ok('init');
  const refused = await project.run('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain('rule keep on table public.users rewrites the UPDATE the backfill runs');
  expect(refused.stderr).toContain('DROP RULE keep ON public.users');
  await notPlanned(project, 'jt');
}, 120_000);

test("trusted code still migrates: the table owner's trigger and index functions, run by a member of the owner", async () => {
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text, touched int NOT NULL DEFAULT 0);
     INSERT INTO public.users SELECT g, 'title ' || g FROM generate_series(1, 200) g;`,
    'phasectl-table-trust-owner-',
  );
  const owner = await roleIn(cleanups, project.url);
  const migrator = await roleIn(cleanups, project.url);
  await query(
    project.url,
    `ALTER TABLE public.users OWNER TO ${quoteIdent(owner.name)};
     GRANT CREATE ON SCHEMA public TO ${quoteIdent(owner.name)};
     GRANT ${quoteIdent(owner.name)} TO ${quoteIdent(migrator.name)};`,
  );
  await query(
    owner.url,
    `CREATE SCHEMA owner_code;
     GRANT USAGE ON SCHEMA owner_code TO PUBLIC;
     CREATE FUNCTION owner_code.touch() RETURNS trigger LANGUAGE plpgsql AS $f$
     BEGIN NEW.touched := NEW.touched + 1; RETURN NEW; END $f$;
     CREATE FUNCTION owner_code.bucket(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $f$ SELECT $1 / 10 $f$;
     CREATE TRIGGER touch BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION owner_code.touch();
     CREATE INDEX users_bucket ON public.users (owner_code.bucket(id));
     GRANT TRIGGER ON public.users TO ${quoteIdent(migrator.name)};`,
  );
  const { run, ok } = cliIn(project.dir, { DATABASE_URL: migrator.url });
  await ok('init');
  await ok('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  await ok('advance', '--release', '1.0.0');
  const migrated = await run('migrate', '--quiet');
  expect(migrated.code, `${migrated.stdout}\n${migrated.stderr}`).toBe(0);
  expect(
    await query(project.url, `SELECT count(*)::int AS n FROM public.users WHERE title IS DISTINCT FROM job_title`),
  ).toEqual([{ n: 0 }]);
  // The owner's trigger ran on the backfill's writes.
  expect(await query(project.url, `SELECT min(touched) AS touched FROM public.users`)).toEqual([{ touched: 1 }]);
}, 300_000);
