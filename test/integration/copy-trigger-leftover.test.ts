import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { phaseSteps, renameOperation } from '../../src/operations/index.js';
import { dropLeftoverCopyTriggers } from '../../src/runner/copy-trigger-leftover.js';
import { applyStep } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';
import { usersJobTitleRename } from '../support/fixtures-changes.js';

/**
 * A phase-1 down file written by an earlier phasectl knows no `$copy` trigger: it drops the new column and the sync it
 * knew, and a `$copy` trigger left on the table would fail every update of the old column. `rollback` drops it after
 * phase 1's down files (src/runner/copy-trigger-leftover.ts).
 */
const change = usersJobTitleRename({ column: { indexes: [] }, releases: { phase1: '1.0.0' } });

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown')`);
  await client.query(`INSERT INTO public.users (id, job_title) VALUES (1, 'chef')`);
  await applyStep(
    client,
    phaseSteps(change, 1).up.find((step) => step.name === 'expand')!,
  );
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

test("the switch keeps an earlier version's one update trigger (both columns, no $copy): its down files can remove it all", async () => {
  // Phase 1 as the earlier version installed it.
  await client.query(`
    DROP TRIGGER "zz_phasectl_sync_users_job_title$copy" ON public.users;
    CREATE OR REPLACE TRIGGER zz_phasectl_sync_users_job_title BEFORE UPDATE OF job_title, favourite_color ON public.users
      FOR EACH ROW EXECUTE FUNCTION phasectl.sync_users_job_title();
    ALTER TABLE public.users ENABLE ALWAYS TRIGGER zz_phasectl_sync_users_job_title`);
  const layout = async () =>
    (
      await client.query(
        `SELECT tgname, pg_catalog.cardinality(tgattr::int2[]) AS columns FROM pg_catalog.pg_trigger
          WHERE tgrelid = 'public.users'::regclass AND tgname NOT LIKE '%$insert' ORDER BY tgname`,
      )
    ).rows;
  expect(await layout()).toEqual([{ tgname: 'zz_phasectl_sync_users_job_title', columns: 2 }]);
  // Phase 2's function file, as the switch applies it: the authority moves, the trigger stays as it was.
  const sql = renameOperation.definitions!(change).find((definition) => definition.name === `${change.id}_v02`)!.sql;
  await client.query(sql);
  expect(await layout()).toEqual([{ tgname: 'zz_phasectl_sync_users_job_title', columns: 2 }]);
  await client.query(`UPDATE public.users SET job_title = 'cook' WHERE id = 1`);
  await client.query(`UPDATE public.users SET job_title = 'baker', favourite_color = 'pilot' WHERE id = 1`);
  // Both written and different: phase 2's authority, the new column, wins.
  expect((await client.query(`SELECT job_title, favourite_color FROM public.users`)).rows).toEqual([
    { job_title: 'pilot', favourite_color: 'pilot' },
  ]);
  await client.query(
    renameOperation.definitions!(change).find((definition) => definition.name === `${change.id}_v01`)!.sql,
  );
  // Switching back (phase 1's function file) keeps it too.
  expect(await layout()).toEqual([{ tgname: 'zz_phasectl_sync_users_job_title', columns: 2 }]);
});

test("a $copy trigger left by an earlier version's phase-1 down file is dropped, and updates of the old column work again", async () => {
  // The sync as this version installs it (a phase-3 rollback's restore), then what the earlier shrink file did: the
  // sync it knew, then the new column.
  await applyStep(
    client,
    phaseSteps(change, 1).up.find((step) => step.name === 'expand')!,
  );
  expect(
    (await client.query(`SELECT count(*)::int AS n FROM pg_catalog.pg_trigger WHERE tgname LIKE '%$copy'`)).rows,
  ).toEqual([{ n: 1 }]);
  await client.query(`
    DROP TRIGGER zz_phasectl_sync_users_job_title ON public.users;
    DROP TRIGGER "zz_phasectl_sync_users_job_title$insert" ON public.users;
    DROP FUNCTION phasectl.sync_users_job_title();
    DROP FUNCTION phasectl."sync_users_job_title$insert"();
    ALTER TABLE public.users DROP COLUMN favourite_color`);
  await expect(client.query(`UPDATE public.users SET job_title = 'pilot' WHERE id = 1`)).rejects.toThrow(
    /favourite_color/,
  );
  // In a transaction, as rollback runs it (with the phase's bookkeeping).
  await client.query('BEGIN');
  await dropLeftoverCopyTriggers(client, change.id);
  await client.query('COMMIT');
  await client.query(`UPDATE public.users SET job_title = 'pilot' WHERE id = 1`);
  expect((await client.query(`SELECT job_title FROM public.users`)).rows).toEqual([{ job_title: 'pilot' }]);
  expect(
    (
      await client.query(
        `SELECT count(*)::int AS n FROM pg_catalog.pg_proc WHERE pronamespace = 'phasectl'::regnamespace AND proname LIKE 'sync_users_job_title%'`,
      )
    ).rows,
  ).toEqual([{ n: 0 }]);
  // Nothing left: a second call finds nothing and changes nothing.
  await client.query('BEGIN');
  await dropLeftoverCopyTriggers(client, change.id);
  await client.query('COMMIT');
});

test('hostile names: the leftover is found by its function in schema phasectl, whatever the table is called; a same-named function elsewhere is left alone', async () => {
  await client.query(`
    CREATE SCHEMA "Odd ""Schema";
    CREATE TABLE "Odd ""Schema"."My Table; DROP" (id int PRIMARY KEY, "Job Title" text);
    INSERT INTO "Odd ""Schema"."My Table; DROP" VALUES (1, 'chef');
    CREATE FUNCTION phasectl."sync_users_job_title$copy"() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN NEW.gone := NEW."Job Title"; RETURN NEW; END $$;
    CREATE TRIGGER "zz_phasectl_sync_users_job_title$copy" BEFORE UPDATE OF "Job Title" ON "Odd ""Schema"."My Table; DROP"
      FOR EACH ROW EXECUTE FUNCTION phasectl."sync_users_job_title$copy"();
    -- Not phasectl's: the same name in another schema, on the same table.
    CREATE FUNCTION "Odd ""Schema"."sync_users_job_title$copy"() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN RETURN NEW; END $$;
    CREATE TRIGGER "theirs" BEFORE UPDATE ON "Odd ""Schema"."My Table; DROP"
      FOR EACH ROW EXECUTE FUNCTION "Odd ""Schema"."sync_users_job_title$copy"();`);
  await expect(client.query(`UPDATE "Odd ""Schema"."My Table; DROP" SET "Job Title" = 'x'`)).rejects.toThrow(/gone/);
  await client.query('BEGIN');
  await dropLeftoverCopyTriggers(client, change.id);
  await client.query('COMMIT');
  await client.query(`UPDATE "Odd ""Schema"."My Table; DROP" SET "Job Title" = 'x'`);
  expect(
    (
      await client.query(
        `SELECT tgname FROM pg_catalog.pg_trigger WHERE tgrelid = '"Odd ""Schema"."My Table; DROP"'::regclass ORDER BY 1`,
      )
    ).rows,
  ).toEqual([{ tgname: 'theirs' }]);
  expect(
    (await client.query(`SELECT to_regprocedure('"Odd ""Schema"."sync_users_job_title$copy"()') IS NOT NULL AS kept`))
      .rows,
  ).toEqual([{ kept: true }]);
});
