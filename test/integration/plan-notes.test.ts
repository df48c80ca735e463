import { afterAll, beforeAll, expect, test } from 'vitest';
import { initialPhasesText } from '../../src/commands/init.js';
import { planMove } from '../../src/commands/plan-move.js';
import { planRename } from '../../src/commands/plan.js';
import { createTestDatabase } from '../support/database.js';
import { makeProject, query } from '../support/fixtures-project.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  db = await createTestDatabase();
  await query(
    db.url,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text, address text, nickname text);
     CREATE TABLE public.profiles (user_id bigint PRIMARY KEY REFERENCES public.users (id));
     CREATE FUNCTION public.check_title() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.job_title = '' THEN RAISE EXCEPTION 'empty'; END IF; RETURN NEW; END $$;
     CREATE TRIGGER check_title BEFORE INSERT OR UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.check_title();
     CREATE FUNCTION public.log_address() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE NOTICE '%', to_jsonb(NEW) ->> 'address'; RETURN NULL; END $$;
     CREATE TRIGGER log_address AFTER UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.log_address();`,
  );
});
afterAll(async () => {
  await db?.drop();
});

test('plan notes the user triggers whose function names the column, and nothing for a column no function names', async () => {
  const project = await makeProject({}, initialPhasesText());
  try {
    const rename = await planRename({
      projectDir: project.dir,
      target: 'users.job_title',
      newName: 'favourite_color',
      databaseUrl: db.url,
    });
    expect(rename.notes).toEqual([
      'note: trigger check_title runs public.check_title() — the function names job_title. It keeps working until phase 3, which refuses to drop job_title while it does: rewrite it to use favourite_color in the release of phase 2.',
      // The same function, found by the parser among all functions (issue 12 item 2).
      'work before phase 3: 1 function(s) name public.users.job_title; change each to use favourite_color (CREATE OR REPLACE, in the release of phase 2 or later) — phase 3 refuses to drop the column until then:',
      '  - public.check_title(), line 2 of its body',
    ]);
    const untouched = await planRename({
      projectDir: project.dir,
      target: 'users.nickname',
      newName: 'display_name',
      databaseUrl: db.url,
    });
    expect(untouched.notes).toEqual([]);
    const move = await planMove({
      projectDir: project.dir,
      from: 'users.address',
      to: 'profiles.address',
      on: 'id=user_id',
      databaseUrl: db.url,
    });
    expect(move.notes).toEqual([
      'note: trigger log_address runs public.log_address() — the function names address. It keeps working until phase 3, which refuses to drop address while it does: rewrite it to use profiles.address in the release of phase 2.',
      // A move lists the functions naming the source column too, with where the value lives afterwards.
      'work before phase 3: 1 function(s) name public.users.address; change each to use public.profiles.address (joined on profiles.user_id = users.id) (CREATE OR REPLACE, in the release of phase 2 or later) — phase 3 refuses to drop the column until then:',
      '  - public.log_address(), line 2 of its body',
    ]);
  } finally {
    await project.remove();
  }
});

test('plan move notes a DEFERRABLE UNIQUE on the moved column: its copy on the target is checked at once until attached', async () => {
  await query(
    db.url,
    `CREATE TABLE public.accounts (id bigint PRIMARY KEY, code text, CONSTRAINT accounts_code_key UNIQUE (code) DEFERRABLE INITIALLY DEFERRED);
     CREATE TABLE public.account_codes (account_id bigint PRIMARY KEY REFERENCES public.accounts (id));`,
  );
  const project = await makeProject({}, initialPhasesText());
  try {
    const move = await planMove({
      projectDir: project.dir,
      from: 'accounts.code',
      to: 'account_codes.code',
      on: 'id=account_id',
      databaseUrl: db.url,
    });
    expect(move.notes).toEqual([
      'note: UNIQUE constraint accounts_code_key is DEFERRABLE, and PostgreSQL cannot build a deferrable unique index without blocking writes: phase 1 builds the copy on account_codes.code as a plain unique index and makes it deferrable only in its next step (rolling phase 3 back does the same on accounts.code). In between, a transaction that relies on the deferral (e.g. swapping two values with two UPDATEs) is refused: hold such writes while those steps run',
    ]);
  } finally {
    await project.remove();
  }
});
