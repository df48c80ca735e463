import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { phaseSteps } from '../../src/operations/index.js';
import { quoteIdent } from '../../src/render/quote.js';
import { ensureStateSchema } from '../../src/session/state-schema.js';
import type { RenameChange } from '../../src/spec/types.js';
import { applySteps } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';
import { plannedRename } from '../support/hardening-rename.js';
import { createOwnerRole } from '../support/hardening-roles.js';

/**
 * The generated files refuse another role's code through one function, phasectl.refuse_untrusted_code (created with
 * the state schema). It runs with the rights of the role applying the file, so another role owning it, or it missing
 * (a state schema an older phasectl created), must stop the file before anything runs or changes.
 */

const FUNCTION = 'phasectl.refuse_untrusted_code(text, text[], text[])';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: pg.Client;
let evil: Awaited<ReturnType<typeof createOwnerRole>>;
let change: RenameChange;

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  evil = await createOwnerRole(db.url, db.name);
  await admin.query(`
    CREATE TABLE public.notes (id int PRIMARY KEY, body text NOT NULL);
    INSERT INTO public.notes SELECT g, 'n' || g FROM generate_series(1, 20) g;
    CREATE TABLE public.calls (who text, what text);
    GRANT INSERT ON public.calls TO PUBLIC;`);
  change = await plannedRename(db.url, { schema: 'public', table: 'notes', column: 'body' }, 'content', 'notes-body');
  // Phase 1 but its last file, applied by another runner as the superuser: the state schema and the function are its.
  await applySteps(
    admin,
    phaseSteps(change, 1).up.filter((step) => step.name !== 'validate'),
  );
});
afterAll(async () => {
  await admin?.end();
  await db?.drop();
  await evil?.drop();
});

function step(name: string) {
  const found = phaseSteps(change, 1).up.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no step ${name}`);
  return found;
}

async function calls(): Promise<unknown[]> {
  return (await admin.query('SELECT who, what FROM public.calls')).rows;
}

async function validated(): Promise<boolean> {
  const { rows } = await admin.query<{ v: boolean }>(
    `SELECT bool_and(convalidated) AS v FROM pg_constraint WHERE conrelid = 'public.notes'::regclass AND contype = 'c'`,
  );
  return rows[0]!.v;
}

test('the generated files call the one function and pass on a clean table', async () => {
  const { rows } = await admin.query<{ owner: string }>(
    `SELECT proowner::regrole::text AS owner FROM pg_proc WHERE oid = to_regprocedure($1)`,
    [FUNCTION],
  );
  expect(rows).toEqual([{ owner: 'postgres' }]);
  expect(step('validate').sql).toContain('PERFORM phasectl.refuse_untrusted_code(');
  expect(step('validate').sql).not.toContain(
    'WITH RECURSIVE member_of(role) AS (\n  SELECT r.oid FROM pg_catalog.pg_roles',
  );
});

test('another role owning and replacing the function: the generated file refuses before it runs, the guard refuses too', async () => {
  // Its body as the other role wrote it (it may replace a function it owns at any time).
  await admin.query(`CREATE OR REPLACE FUNCTION ${FUNCTION} RETURNS void LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO public.calls VALUES (current_user, 'check'); END $$`);
  await admin.query(`ALTER FUNCTION ${FUNCTION} OWNER TO ${quoteIdent(evil.name)}`);
  try {
    // Another runner applies the validate file as the superuser: refused, evil's body never ran, nothing validated.
    expect(await validated()).toBe(false);
    await expect(applySteps(admin, [step('validate')])).rejects.toThrow(
      `function ${FUNCTION} is missing or not trusted by postgres`,
    );
    expect(await calls()).toEqual([]);
    expect(await validated()).toBe(false);
    // The expand file (re-run) and phasectl's runner refuse at the state schema's guard, before the CREATE OR REPLACE.
    await expect(applySteps(admin, [step('expand')])).rejects.toThrow(
      new RegExp(
        `refusing schema phasectl.*function phasectl\\.refuse_untrusted_code\\(text,text\\[\\],text\\[\\]\\) is owned by role ${evil.name}`,
      ),
    );
    await expect(ensureStateSchema(admin)).rejects.toThrow(/refusing schema phasectl/);
    expect(await calls()).toEqual([]);
  } finally {
    await admin.query(`DROP FUNCTION ${FUNCTION}`);
  }
});

test('a state schema without the function (an older phasectl): the file refuses, the runner creates it, then it runs', async () => {
  await expect(applySteps(admin, [step('validate')])).rejects.toThrow(`function ${FUNCTION} is missing`);
  expect(await validated()).toBe(false);
  await ensureStateSchema(admin);
  await applySteps(admin, [step('validate')]);
  expect(await validated()).toBe(true);
});

test('the function refuses with the runner message and hint: a trigger function of another role', async () => {
  await admin.query(`
    CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    ALTER FUNCTION public.touch() OWNER TO ${quoteIdent(evil.name)};
    CREATE TRIGGER touch BEFORE UPDATE ON public.notes FOR EACH ROW EXECUTE FUNCTION public.touch();`);
  try {
    const error = await applySteps(admin, [step('validate')]).then(
      () => undefined,
      (caught: unknown) => caught as { message: string; hint?: string },
    );
    expect(error?.message).toMatch(
      new RegExp(
        `^"public"\\."notes" would run another role's code .*function public\\.touch\\(\\), owned by role ${evil.name}`,
      ),
    );
    expect(error?.hint).toContain(`ALTER FUNCTION public.touch() OWNER TO postgres`);
  } finally {
    await admin.query('DROP TRIGGER touch ON public.notes; DROP FUNCTION public.touch()');
  }
});
