import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { phaseSteps, renameOperation } from '../../src/operations/index.js';
import { applyStep } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';
import { usersJobTitleRename } from '../support/fixtures-changes.js';
import { behindSyncTriggers } from '../support/behind-sync-triggers.js';

/**
 * The write paths of a rename's sync (same type): each insert enters exactly one plpgsql function, `$insert` (one
 * NULL test, one assignment), through a trigger without a WHEN clause; an update enters the update function only when
 * the statement names one of the two columns (a column list, no other BEFORE UPDATE trigger on the table). Counted
 * with track_functions = 'pl' in pg_stat_xact_user_functions (this transaction's calls). The values are the sync
 * rules'.
 */
const change = usersJobTitleRename({ column: { indexes: [] }, releases: { phase1: '1.0.0' } });

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown')`);
  await applyStep(
    client,
    phaseSteps(change, 1).up.find((step) => step.name === 'expand')!,
  );
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

/** Runs `sql` in a transaction and returns the row it wrote and the plpgsql functions it called (name → calls). */
async function callsOf(sql: string): Promise<{ row: Record<string, unknown>; calls: Record<string, number> }> {
  // The view also holds calls not yet flushed from earlier transactions of this backend: count the difference.
  const read = async () =>
    new Map(
      (
        await client.query<{ funcname: string; calls: string }>(
          `SELECT funcname, calls FROM pg_catalog.pg_stat_xact_user_functions WHERE schemaname = 'phasectl'`,
        )
      ).rows.map((r) => [r.funcname, Number(r.calls)]),
    );
  await client.query(`BEGIN; SET LOCAL track_functions = 'pl'`);
  try {
    const before = await read();
    const { rows } = await client.query(`${sql} RETURNING job_title, favourite_color`);
    const after = await read();
    const calls = Object.fromEntries(
      [...after].map(([name, n]) => [name, n - (before.get(name) ?? 0)]).filter(([, n]) => Number(n) > 0),
    );
    return { row: rows[0], calls };
  } finally {
    await client.query('ROLLBACK');
  }
}

describe('rename sync, insert path', () => {
  test('an old-release insert (old column only) runs the insert function once', async () => {
    expect(await callsOf(`INSERT INTO public.users (id, job_title) VALUES (1, 'chef')`)).toEqual({
      row: { job_title: 'chef', favourite_color: 'chef' },
      calls: { sync_users_job_title$insert: 1 },
    });
    const triggers = await client.query<{ tgname: string; when: boolean }>(
      `SELECT tgname, tgqual IS NOT NULL AS when FROM pg_catalog.pg_trigger
        WHERE tgrelid = 'public.users'::pg_catalog.regclass AND NOT tgisinternal ORDER BY tgname`,
    );
    expect(triggers.rows).toEqual([
      { tgname: 'zz_phasectl_sync_users_job_title', when: true },
      { tgname: 'zz_phasectl_sync_users_job_title$copy', when: false },
      { tgname: 'zz_phasectl_sync_users_job_title$insert', when: false },
    ]);
  });

  test('a new-release insert (new column, the old one takes its DEFAULT) runs the insert function once; the new value wins', async () => {
    expect(await callsOf(`INSERT INTO public.users (id, favourite_color) VALUES (2, 'pilot')`)).toEqual({
      row: { job_title: 'pilot', favourite_color: 'pilot' },
      calls: { sync_users_job_title$insert: 1 },
    });
  });

  test('an insert of both columns, equal, keeps them; both different: the new one wins', async () => {
    expect(
      await callsOf(`INSERT INTO public.users (id, job_title, favourite_color) VALUES (3, 'baker', 'baker')`),
    ).toEqual({
      row: { job_title: 'baker', favourite_color: 'baker' },
      calls: { sync_users_job_title$insert: 1 },
    });
    expect(
      await callsOf(`INSERT INTO public.users (id, job_title, favourite_color) VALUES (4, 'baker', 'cook')`),
    ).toEqual({
      row: { job_title: 'cook', favourite_color: 'cook' },
      calls: { sync_users_job_title$insert: 1 },
    });
    // Neither given: the old column's DEFAULT is copied over.
    expect(await callsOf(`INSERT INTO public.users (id, job_title) VALUES (8, DEFAULT)`)).toEqual({
      row: { job_title: 'unknown', favourite_color: 'unknown' },
      calls: { sync_users_job_title$insert: 1 },
    });
  });

  test('an update of the renamed column (the authority) enters only the copy function: one assignment', async () => {
    await client.query(`INSERT INTO public.users (id, job_title) VALUES (5, 'chef')`);
    expect(await callsOf(`UPDATE public.users SET job_title = 'pilot' WHERE id = 5`)).toEqual({
      row: { job_title: 'pilot', favourite_color: 'pilot' },
      calls: { sync_users_job_title$copy: 1 },
    });
  });

  test('an update of the new column is copied back; an update naming neither column does not enter plpgsql', async () => {
    await client.query(`INSERT INTO public.users (id, job_title) VALUES (10, 'chef')`);
    expect(await callsOf(`UPDATE public.users SET favourite_color = 'Chef' WHERE id = 10`)).toEqual({
      row: { job_title: 'Chef', favourite_color: 'Chef' },
      calls: { sync_users_job_title: 1 },
    });
    expect(await callsOf(`UPDATE public.users SET id = 10 WHERE id = 10`)).toEqual({
      row: { job_title: 'chef', favourite_color: 'chef' },
      calls: {},
    });
  });

  test("the backfill's write (the new column given the old one's value) does not enter plpgsql; a differing one does", async () => {
    await client.query(`INSERT INTO public.users (id, job_title) VALUES (12, 'chef')`);
    await client.query(behindSyncTriggers(`UPDATE public.users SET favourite_color = NULL WHERE id = 12`));
    // What the backfill sends (batches of it): the trigger on the new column has a WHEN clause that lets through only
    // rows whose two columns differ after the write, and these no longer do.
    expect(await callsOf(`UPDATE public.users AS t SET favourite_color = t.job_title WHERE id = 12`)).toEqual({
      row: { job_title: 'chef', favourite_color: 'chef' },
      calls: {},
    });
    // A write of the new column that differs is copied back (phase 1: the new release writing early).
    expect(await callsOf(`UPDATE public.users SET favourite_color = 'Cook' WHERE id = 12`)).toEqual({
      row: { job_title: 'Cook', favourite_color: 'Cook' },
      calls: { sync_users_job_title: 1 },
    });
    // Both named and different, the authority changed: it wins. The sync function settles the row first (its
    // trigger sorts first), then the copy function copies an equal value.
    expect(
      await callsOf(`UPDATE public.users SET favourite_color = 'Cook', job_title = 'Baker' WHERE id = 12`),
    ).toEqual({
      row: { job_title: 'Baker', favourite_color: 'Baker' },
      calls: { sync_users_job_title: 1, sync_users_job_title$copy: 1 },
    });
    // Both named, the authority unchanged, the other column changed: the other's write wins (the sync function ran
    // before the copy, which then copies the value it settled on, not the old one).
    expect(
      await callsOf(`UPDATE public.users SET job_title = job_title, favourite_color = 'Pilot' WHERE id = 12`),
    ).toEqual({
      row: { job_title: 'Pilot', favourite_color: 'Pilot' },
      calls: { sync_users_job_title: 1, sync_users_job_title$copy: 1 },
    });
  });

  test("phase 2's function swaps the update triggers' columns (the authority's, $copy, has no WHEN clause); switching back swaps them again", async () => {
    const columns = async () =>
      (
        await client.query<{ tgname: string; columns: string[]; when: boolean }>(
          `SELECT t.tgname, array(SELECT a.attname::text FROM unnest(t.tgattr::int2[]) AS c(n)
                                   JOIN pg_catalog.pg_attribute a ON a.attrelid = t.tgrelid AND a.attnum = c.n) AS columns,
                  t.tgqual IS NOT NULL AS when
             FROM pg_catalog.pg_trigger t
            WHERE t.tgrelid = 'public.users'::pg_catalog.regclass AND t.tgname NOT LIKE '%$insert' AND t.tgenabled = 'A'
            ORDER BY t.tgname`,
        )
      ).rows;
    expect(await columns()).toEqual([
      // The key too: an update that moves a row not copied yet copies it (the backfill's walk would not see it again).
      { tgname: 'zz_phasectl_sync_users_job_title', columns: ['id', 'favourite_color'], when: true },
      { tgname: 'zz_phasectl_sync_users_job_title$copy', columns: ['job_title'], when: false },
    ]);
    // The switch and switch-back apply these (after their gates, which this test has no state for).
    const syncFunction = (version: string) =>
      renameOperation.definitions!(change).find((definition) => definition.name === `${change.id}_v${version}`)!.sql;
    await client.query(syncFunction('02'));
    try {
      expect(await columns()).toEqual([
        { tgname: 'zz_phasectl_sync_users_job_title', columns: ['id', 'job_title'], when: true },
        { tgname: 'zz_phasectl_sync_users_job_title$copy', columns: ['favourite_color'], when: false },
      ]);
      await client.query(`INSERT INTO public.users (id, job_title) VALUES (13, 'chef')`);
      // Phase 2: the new release writes the new column, copied back through the trigger without WHEN clause.
      expect(await callsOf(`UPDATE public.users SET favourite_color = 'pilot' WHERE id = 13`)).toEqual({
        row: { job_title: 'pilot', favourite_color: 'pilot' },
        calls: { sync_users_job_title$copy: 1 },
      });
      // The old release, still running during the rollout, writes the old column: copied over.
      expect(await callsOf(`UPDATE public.users SET job_title = 'cook' WHERE id = 13`)).toEqual({
        row: { job_title: 'cook', favourite_color: 'cook' },
        calls: { sync_users_job_title: 1 },
      });
      // Both, different: the new column (the authority now) wins.
      expect(
        await callsOf(`UPDATE public.users SET job_title = 'cook', favourite_color = 'baker' WHERE id = 13`),
      ).toEqual({
        row: { job_title: 'baker', favourite_color: 'baker' },
        calls: { sync_users_job_title: 1, sync_users_job_title$copy: 1 },
      });
    } finally {
      await client.query(syncFunction('01'));
    }
    expect(await columns()).toEqual([
      { tgname: 'zz_phasectl_sync_users_job_title', columns: ['id', 'favourite_color'], when: true },
      { tgname: 'zz_phasectl_sync_users_job_title$copy', columns: ['job_title'], when: false },
    ]);
  });

  test('an update naming a column of a row out of sync (not yet backfilled) gives it the value of the authority', async () => {
    // Phase 1: the old column is the authority and the full one. (In a phase-3 rollback, the other empty column,
    // the new column is the authority: the empty column never overwrites the full one.)
    await client.query(`INSERT INTO public.users (id, job_title) VALUES (11, 'chef')`);
    await client.query(behindSyncTriggers(`UPDATE public.users SET favourite_color = NULL WHERE id = 11`));
    expect(await callsOf(`UPDATE public.users SET job_title = job_title WHERE id = 11`)).toEqual({
      row: { job_title: 'chef', favourite_color: 'chef' },
      calls: { sync_users_job_title$copy: 1 },
    });
    // The same through the other column: its trigger lets the row through (the columns differ), and the sync
    // function gives it the authority's value.
    await client.query(behindSyncTriggers(`UPDATE public.users SET favourite_color = NULL WHERE id = 11`));
    expect(await callsOf(`UPDATE public.users SET favourite_color = favourite_color WHERE id = 11`)).toEqual({
      row: { job_title: 'chef', favourite_color: 'chef' },
      calls: { sync_users_job_title: 1 },
    });
  });

  test('the update function, without SET search_path, looks nothing up by name: a caller whose path finds a planted = first still syncs', async () => {
    const config = await client.query<{ proconfig: string[] | null }>(
      `SELECT proconfig FROM pg_catalog.pg_proc WHERE oid = 'phasectl.sync_users_job_title'::pg_catalog.regproc`,
    );
    expect(config.rows[0]!.proconfig).toBeNull();
    await client.query(`INSERT INTO public.users (id, job_title) VALUES (6, 'chef'), (7, 'Chef')`);
    // An operator = (text, text) that is always false, found before pg_catalog's by the caller's search_path: an
    // unqualified comparison in the body (TG_OP = 'UPDATE') would send the update down the insert branch, which
    // puts the old value back.
    await client.query(`
      CREATE SCHEMA planted;
      CREATE FUNCTION planted.never(text, text) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT false';
      CREATE OPERATOR planted.= (LEFTARG = text, RIGHTARG = text, FUNCTION = planted.never)`);
    const caller = new pg.Client({ connectionString: db.url, options: '-c search_path=planted,pg_catalog,public' });
    await caller.connect();
    try {
      expect((await caller.query(`SELECT 'UPDATE'::text = 'UPDATE' AS planted_equal`)).rows[0].planted_equal).toBe(
        false,
      );
      const updated = await caller.query(
        `UPDATE public.users SET job_title = 'pilot' WHERE id = 6 RETURNING favourite_color`,
      );
      expect(updated.rows[0].favourite_color).toBe('pilot');
      // A change of case only is a change (byte comparison), whatever the collation.
      const cased = await caller.query(
        `UPDATE public.users SET favourite_color = 'CHEF' WHERE id = 7 RETURNING job_title`,
      );
      expect(cased.rows[0].job_title).toBe('CHEF');
    } finally {
      await caller.end();
      await client.query('DROP SCHEMA planted CASCADE');
    }
  });
});
