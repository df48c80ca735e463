import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { splitStatements } from '../../src/sql/split-statements.js';
import { client, query } from '../support/fixtures-project.js';
import { hostileCodeRole } from '../support/planned-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn, type TestProject } from '../support/test-project.js';

/**
 * The paths by which another role's code reaches the role running phasectl (here a superuser) that the first trust
 * check (test/e2e/table-trust-cli.test.ts) did not see: domains (phase 1's ADD COLUMN checks the new column's domain on
 * every row, a type change casts every value to it), operators (pg_depend records the operator an index or CHECK
 * uses, not its function) and the backfill file other runners apply. Each hostile object belongs to a second,
 * ordinary role whose functions note `current_user` whenever they run.
 */
const cleanups = cleanupsAfterAll();

/** A role with `hostile_code.note(anyelement)` (true, and notes who ran it) and the operator `hostile_code.===`. */
async function hostileRole(url: string) {
  return await hostileCodeRole(
    cleanups,
    url,
    `CREATE FUNCTION hostile_code.note(anyelement) RETURNS boolean LANGUAGE plpgsql AS $f$
     BEGIN INSERT INTO hostile_code.runs VALUES (current_user); RETURN true; END $f$;
     -- Declared IMMUTABLE, as an index predicate needs; the volatile function it calls still runs.
     CREATE FUNCTION hostile_code.same(bigint, bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $f$
     BEGIN PERFORM hostile_code.note($1); RETURN $1 = $2; END $f$;
     CREATE OPERATOR hostile_code.=== (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = hostile_code.same);
     CREATE FUNCTION hostile_code.grab() RETURNS trigger LANGUAGE plpgsql AS $f$
     BEGIN INSERT INTO hostile_code.runs VALUES (current_user); RETURN NEW; END $f$;`,
  );
}

async function notPlanned(project: TestProject, id: string) {
  expect(await readFile(join(project.dir, 'phases.yaml'), 'utf8')).not.toContain(id);
}

const USERS = `INSERT INTO public.users (id, job_title) SELECT g, 'title ' || g FROM generate_series(1, 100) g;`;

test("domains: another role's domain, or a domain check calling its function, is refused at plan; a check added after plan stops phase 1 before ADD COLUMN runs it", async () => {
  const project = await databaseWithFolder(cleanups, '', 'phasectl-trust-domain-');
  const { url, run, ok } = project;
  const hostile = await hostileRole(url);
  // The hostile role's own domain: it can add `CHECK (anything(VALUE)) NOT VALID` whenever it likes.
  await query(hostile.url, `CREATE DOMAIN hostile_code.title_text AS text`);
  await query(
    url,
    `CREATE DOMAIN public.short_text AS text;
     CREATE TABLE public.users (id bigint PRIMARY KEY, job_title hostile_code.title_text);
     ${USERS}`,
  );
  await ok('init');
  const refused = await run('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(
    `domain hostile_code.title_text (used by column job_title of table public.users) is owned by role ${hostile.name}`,
  );
  expect(refused.stderr).toContain('ALTER DOMAIN hostile_code.title_text OWNER TO');
  await notPlanned(project, 'jt');

  // The owner's domain over a domain, whose inner check calls the hostile role's function.
  await query(
    url,
    `CREATE DOMAIN public.checked_text AS text CHECK (hostile_code.note(VALUE));
     CREATE DOMAIN public.title_text AS public.checked_text;
     ALTER TABLE public.users ALTER COLUMN job_title TYPE public.title_text;
     TRUNCATE hostile_code.runs;`,
  );
  const nested = await run('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  expect(nested.code, nested.stderr).toBe(2);
  expect(nested.stderr).toContain(
    'check constraint checked_text_check of domain public.checked_text (used by column job_title of table public.users) ' +
      `calls function hostile_code.note(anyelement), owned by role ${hostile.name}`,
  );
  // A type change to such a domain: every value the backfill writes is cast to it.
  await query(url, `ALTER TABLE public.users ALTER COLUMN job_title TYPE text`);
  const typed = await run('plan', 'rename', 'users.job_title', 'title', '--type', 'public.title_text', '--id', 'jt');
  expect(typed.code, typed.stderr).toBe(2);
  expect(typed.stderr).toContain(
    'check constraint checked_text_check of domain public.checked_text (used by the new column',
  );
  await notPlanned(project, 'jt');

  // A domain the owner controls passes plan; the check is added after plan (the owner trusting the function).
  await query(url, `ALTER TABLE public.users ALTER COLUMN job_title TYPE public.short_text`);
  await ok('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  await ok('advance', '--release', '1.0.0');
  await query(url, `ALTER DOMAIN public.short_text ADD CONSTRAINT noted CHECK (hostile_code.note(VALUE)) NOT VALID`);
  const stopped = await run('migrate');
  expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(3);
  expect(stopped.stderr).toContain(
    'check constraint noted of domain public.short_text (used by the new column of table public.users) calls ' +
      `function hostile_code.note(anyelement), owned by role ${hostile.name}`,
  );
  // PostgreSQL would have checked the domain on every row of ADD COLUMN (a rewrite), as the migrator.
  expect(await hostile.ranAs()).toEqual([]);
  expect(await hasColumn(url, 'public.users', 'title')).toBe(false);

  // Dropping it lets the same run through; a domain on another column is not checked by the backfill's UPDATE.
  await query(
    url,
    `ALTER DOMAIN public.short_text DROP CONSTRAINT noted;
     ALTER TABLE public.users ADD COLUMN note public.checked_text;
     TRUNCATE hostile_code.runs;`,
  );
  await ok('migrate', '--quiet');
  expect(await hostile.ranAs()).toEqual([]);
  expect(
    await query(url, `SELECT count(*)::int AS n FROM public.users WHERE title IS DISTINCT FROM job_title`),
  ).toEqual([{ n: 0 }]);
}, 300_000);

test("operators: an index or CHECK using another role's operator is refused at plan, and stops the run when added after plan", async () => {
  const project = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text, score bigint NOT NULL DEFAULT 0);
     ${USERS}`,
    'phasectl-trust-operator-',
  );
  const { url, run, ok } = project;
  const hostile = await hostileRole(url);
  await ok('init');
  await query(url, `CREATE INDEX users_scored ON public.users (id) WHERE score OPERATOR(hostile_code.===) 0`);
  const refused = await run('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(
    'index public.users_scored of table public.users calls function hostile_code.same(bigint,bigint) ' +
      `(operator hostile_code.===(bigint,bigint)), owned by role ${hostile.name}`,
  );
  expect(refused.stderr).toContain('ALTER FUNCTION hostile_code.same(bigint,bigint) OWNER TO');
  await notPlanned(project, 'jt');

  await query(url, `DROP INDEX public.users_scored; TRUNCATE hostile_code.runs`);
  await ok('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  await ok('advance', '--release', '1.0.0');
  // Added after plan: evaluated on every row the backfill updates.
  await query(
    url,
    `ALTER TABLE public.users ADD CONSTRAINT users_score_check CHECK (score OPERATOR(hostile_code.===) score) NOT VALID`,
  );
  const stopped = await run('migrate');
  expect(stopped.code, `${stopped.stdout}\n${stopped.stderr}`).toBe(3);
  expect(stopped.stderr).toContain('(operator hostile_code.===(bigint,bigint))');
  expect(await hostile.ranAs()).toEqual([]);
  expect(await hasColumn(url, 'public.users', 'title')).toBe(false);
}, 300_000);

/** Applies `file` as a plain runner does: a transactional file in one transaction, any other statement by statement. */
async function applyAsPlainRunner(url: string, path: string): Promise<void> {
  const sql = await readFile(path, 'utf8');
  const session = await client(url);
  try {
    if (sql.split('\n', 1)[0]!.includes('transaction=true')) await session.query(`BEGIN;\n${sql}\nCOMMIT;`);
    else for (const statement of splitStatements(sql)) await session.query(statement);
  } finally {
    await session.end();
  }
}

test('generated files applied by another runner: the backfill refuses a trigger planted after plan, the validate step a CHECK function handed over since', async () => {
  const project = await databaseWithFolder(cleanups, '', 'phasectl-trust-files-');
  const { url, ok } = project;
  const hostile = await hostileRole(url);
  // The CHECK's function is the migrator's at plan (trusted), in a schema the hostile role owns.
  await query(
    url,
    `CREATE FUNCTION hostile_code.short(text) RETURNS boolean LANGUAGE sql AS $f$ SELECT length($1) < 100 $f$;
     CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text CHECK (hostile_code.short(job_title)));
     ${USERS}`,
  );
  await ok('init');
  await ok('plan', 'rename', 'users.job_title', 'title', '--id', 'jt');
  await ok('advance', '--release', '1.0.0');
  const folder = join(project.dir, 'db', 'migrations');
  const files = (await readdir(folder)).filter((name) => name.endsWith('.up.sql')).sort();
  const expand = files.find((name) => name.includes('_p1_01_expand'))!;
  const backfill = files.find((name) => name.includes('_p1_02_backfill'))!;
  await applyAsPlainRunner(url, join(folder, expand));
  await query(
    url,
    `CREATE TRIGGER grab BEFORE UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION hostile_code.grab()`,
  );
  const failure = await applyAsPlainRunner(url, join(folder, backfill)).then(
    () => undefined,
    (error: Error & { hint?: string }) => error,
  );
  expect(failure?.message).toContain(
    `"public"."users" would run another role's code as the role running phasectl (its triggers and rules fire`,
  );
  expect(failure?.message).toContain(
    `trigger grab on table public.users runs function hostile_code.grab(), owned by role ${hostile.name}`,
  );
  expect(failure?.hint).toContain('ALTER FUNCTION hostile_code.grab() OWNER TO');
  expect(await hostile.ranAs()).toEqual([]);
  expect(await query(url, `SELECT count(title)::int AS n FROM public.users`)).toEqual([{ n: 0 }]);

  await query(url, `DROP TRIGGER grab ON public.users`);
  await applyAsPlainRunner(url, join(folder, backfill));
  expect(await query(url, `SELECT count(title)::int AS n FROM public.users`)).toEqual([{ n: 100 }]);

  // Between the backfill and VALIDATE (which evaluates the copied CHECK on every row), the function is handed over
  // and its body replaced.
  await applyAsPlainRunner(
    url,
    join(
      folder,
      files.find((name) => name.includes('_constraints'))!,
    ),
  );
  await query(url, `ALTER FUNCTION hostile_code.short(text) OWNER TO ${hostile.ident}`);
  await query(
    hostile.url,
    `CREATE OR REPLACE FUNCTION hostile_code.short(text) RETURNS boolean LANGUAGE sql AS $f$ SELECT hostile_code.note($1) $f$`,
  );
  const validate = files.find((name) => name.includes('_validate'))!;
  const refused = await applyAsPlainRunner(url, join(folder, validate)).then(
    () => undefined,
    (error: Error) => error,
  );
  expect(refused?.message).toContain(`calls function hostile_code.short(text), owned by role ${hostile.name}`);
  expect(await hostile.ranAs()).toEqual([]);
}, 300_000);
