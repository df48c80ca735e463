import { spawn } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import { planMove } from '../../src/commands/plan-move.js';
import { phaseSteps } from '../../src/operations/index.js';
import { migrate } from '../../src/commands/migrate.js';
import type { MoveChange } from '../../src/spec/types.js';
import { applyStep, applySteps } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';
import { killedBackendsGone } from '../support/killed-backends.js';
import { emptyProject } from '../support/test-project.js';
import { behindSyncTriggers } from '../support/behind-sync-triggers.js';
import { backfillWithWriteAfterFirstBatch } from '../support/write-behind-walk.js';

/** The sync triggers of a move, exercised on a real server through the generated SQL (applied as a plain runner would). */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let session: pg.Client;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  session = new pg.Client({ connectionString: db.url });
  await session.connect();
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await session?.end();
  await db?.drop();
});

function change(id: string, schema: string): MoveChange {
  return {
    kind: 'move',
    id,
    move: {
      from: { schema, table: 'users', column: 'address' },
      to: { schema, table: 'profiles', column: 'address' },
      on: [{ from: 'id', to: 'user_id' }],
    },
    column: { type: 'text', nullable: true, indexes: [], constraints: [] },
    key: { columns: ['id'], types: ['bigint'] },
    target: { existingColumn: false },
    releases: { phase1: '1.0.0', phase2: '1.1.0', phase3: '1.2.0' },
  };
}

/** A schema with users (source) and profiles (target, no FK: either side may come first), phase 1 applied. */
async function setUp(schema: string, phase: 1 | 2 = 1): Promise<MoveChange> {
  await session.query(`
    CREATE SCHEMA ${schema};
    CREATE TABLE ${schema}.users (id bigint PRIMARY KEY, address text);
    CREATE TABLE ${schema}.profiles (id serial PRIMARY KEY, user_id bigint UNIQUE, address_note text);
    INSERT INTO ${schema}.users SELECT g, 'street ' || g FROM generate_series(1, 10) g;
    INSERT INTO ${schema}.profiles (user_id) SELECT g FROM generate_series(1, 5) g;`);
  const move = change(`${schema.replace(/_/g, '-')}-move`, schema);
  await applySteps(session, phaseSteps(move, 1).up, 2);
  if (phase === 2) await applySteps(session, phaseSteps(move, 2).up);
  return move;
}

async function pairs(schema: string) {
  return (
    await session.query<{ id: string; source: string | null; target: string | null }>(
      `SELECT u.id, u.address AS source, p.address AS target FROM ${schema}.users u LEFT JOIN ${schema}.profiles p ON p.user_id = u.id ORDER BY u.id`,
    )
  ).rows;
}

test('phase 1: the backfill filled existing pairs; a source row without a target row keeps its value until the target row appears', async () => {
  await setUp('m_basic');
  const rows = await pairs('m_basic');
  expect(rows.filter((row) => Number(row.id) <= 5).map((row) => row.target)).toEqual([
    'street 1',
    'street 2',
    'street 3',
    'street 4',
    'street 5',
  ]);
  expect(rows.filter((row) => Number(row.id) > 5).map((row) => row.target)).toEqual([null, null, null, null, null]);
  await session.query(`INSERT INTO m_basic.profiles (user_id) VALUES (7)`);
  expect((await session.query(`SELECT address FROM m_basic.profiles WHERE user_id = 7`)).rows).toEqual([
    { address: 'street 7' },
  ]);
  // A target insert carrying another value: v01, the source wins.
  await session.query(`INSERT INTO m_basic.profiles (user_id, address) VALUES (8, 'from new code')`);
  expect((await session.query(`SELECT address FROM m_basic.profiles WHERE user_id = 8`)).rows).toEqual([
    { address: 'street 8' },
  ]);
  // A source row inserted after its target row takes the target's value when it has none.
  await session.query(`INSERT INTO m_basic.profiles (user_id, address) VALUES (50, 'early')`);
  await session.query(`INSERT INTO m_basic.users (id) VALUES (50)`);
  expect((await session.query(`SELECT address FROM m_basic.users WHERE id = 50`)).rows).toEqual([{ address: 'early' }]);
});

test('a write on either side reaches the other once, without looping, and the guard is switched off again', async () => {
  await setUp('m_guard');
  const inTransaction = await session.query(`
    BEGIN;
    UPDATE m_guard.users SET address = 'old code' WHERE id = 1;
    SELECT coalesce(current_setting('phasectl.move_m_guard_move', true), '') AS guard;`);
  // After the write-through the transaction-local guard is off again: a later write in the same transaction still syncs.
  expect((inTransaction as unknown as pg.QueryResult[])[2]!.rows).toEqual([{ guard: '' }]);
  await session.query(`UPDATE m_guard.profiles SET address = 'new code' WHERE user_id = 1; COMMIT;`);
  expect((await pairs('m_guard'))[0]).toEqual({ id: '1', source: 'new code', target: 'new code' });
  // Each side was written exactly once by each statement: count row versions through xmin changes.
  await session.query(`CREATE TABLE m_guard.writes (tbl text); 
    CREATE FUNCTION m_guard.count() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO m_guard.writes VALUES (TG_TABLE_NAME); RETURN NULL; END $$;
    CREATE TRIGGER count_users AFTER UPDATE ON m_guard.users FOR EACH ROW EXECUTE FUNCTION m_guard.count();
    CREATE TRIGGER count_profiles AFTER UPDATE ON m_guard.profiles FOR EACH ROW EXECUTE FUNCTION m_guard.count();`);
  await session.query(`UPDATE m_guard.profiles SET address = 'once' WHERE user_id = 2`);
  await session.query(`UPDATE m_guard.users SET address = 'twice' WHERE id = 3`);
  expect(
    (await session.query(`SELECT tbl, count(*)::int AS n FROM m_guard.writes GROUP BY tbl ORDER BY tbl`)).rows,
  ).toEqual([
    { tbl: 'profiles', n: 2 },
    { tbl: 'users', n: 2 },
  ]);
  expect((await pairs('m_guard')).slice(1, 3)).toEqual([
    { id: '2', source: 'once', target: 'once' },
    { id: '3', source: 'twice', target: 'twice' },
  ]);
});

test('a fresh session that never set the guard syncs (NULL setting does not disable it)', async () => {
  await setUp('m_fresh');
  for (const sql of [
    `UPDATE m_fresh.profiles SET address = 'fresh target' WHERE user_id = 4`,
    `UPDATE m_fresh.users SET address = 'fresh source' WHERE id = 5`,
  ]) {
    const fresh = new pg.Client({ connectionString: db.url });
    await fresh.connect();
    try {
      expect((await fresh.query(`SELECT current_setting('phasectl.move_m_fresh_move', true) AS guard`)).rows).toEqual([
        { guard: null },
      ]);
      await fresh.query(sql);
    } finally {
      await fresh.end();
    }
  }
  const rows = await pairs('m_fresh');
  expect(rows[3]).toEqual({ id: '4', source: 'fresh target', target: 'fresh target' });
  expect(rows[4]).toEqual({ id: '5', source: 'fresh source', target: 'fresh source' });
});

test('under session_replication_role = replica (rows a subscription applies) a write still reaches the other side', async () => {
  await setUp('m_replica');
  await session.query(`BEGIN; SET LOCAL session_replication_role = replica;
    UPDATE m_replica.users SET address = 'replicated source' WHERE id = 1;
    UPDATE m_replica.profiles SET address = 'replicated target' WHERE user_id = 2;
    COMMIT;`);
  const rows = await pairs('m_replica');
  expect(rows[0]).toEqual({ id: '1', source: 'replicated source', target: 'replicated source' });
  expect(rows[1]).toEqual({ id: '2', source: 'replicated target', target: 'replicated target' });
});

test('phase 2: a target insert with its own value wins and reaches the source; deletes on either side leave the other consistent', async () => {
  await setUp('m_switch', 2);
  await session.query(`INSERT INTO m_switch.profiles (user_id, address) VALUES (6, 'new code wins')`);
  expect((await pairs('m_switch'))[5]).toEqual({ id: '6', source: 'new code wins', target: 'new code wins' });
  await session.query(`DELETE FROM m_switch.profiles WHERE user_id = 2`);
  expect((await pairs('m_switch'))[1]).toEqual({ id: '2', source: 'street 2', target: null });
  await session.query(`UPDATE m_switch.users SET address = 'kept in source' WHERE id = 2`);
  await session.query(`INSERT INTO m_switch.profiles (user_id) VALUES (2)`);
  expect((await pairs('m_switch'))[1]).toEqual({ id: '2', source: 'kept in source', target: 'kept in source' });
  await session.query(`DELETE FROM m_switch.users WHERE id = 3`);
  expect((await session.query(`SELECT address FROM m_switch.profiles WHERE user_id = 3`)).rows).toEqual([
    { address: 'street 3' },
  ]);
  await session.query(`UPDATE m_switch.profiles SET address = 'orphan edit' WHERE user_id = 3`);
  expect((await session.query(`SELECT address FROM m_switch.profiles WHERE user_id = 3`)).rows).toEqual([
    { address: 'orphan edit' },
  ]);
});

test('phase 3 refuses while a source value has no target row, and says how to fix it', async () => {
  const move = await setUp('m_stranded', 2);
  const unsync = phaseSteps(move, 3).up.find((candidate) => candidate.name === 'unsync');
  await expect(applyStep(session, unsync!)).rejects.toThrow(
    /5 rows of "m_stranded"."users" have a value in address but no row in "m_stranded"."profiles"/,
  );
  await session.query(`INSERT INTO m_stranded.profiles (user_id) SELECT g FROM generate_series(6, 10) g`);
  await applySteps(session, phaseSteps(move, 3).up);
  expect(
    (await session.query(`SELECT user_id, address FROM m_stranded.profiles WHERE user_id IN (6, 10) ORDER BY 1`)).rows,
  ).toEqual([
    { user_id: '6', address: 'street 6' },
    { user_id: '10', address: 'street 10' },
  ]);
});

test('the backfill killed part-way resumes through migrate and ends with every pair equal', async () => {
  const dir = await emptyProject(cleanups, 'phasectl-move-kill-');
  await session.query(`
    CREATE TABLE public.accounts (id bigint PRIMARY KEY, plan text);
    CREATE TABLE public.billing (account_id bigint PRIMARY KEY, note text);
    INSERT INTO public.accounts SELECT g, 'plan ' || g FROM generate_series(1, 20000) g;
    INSERT INTO public.billing (account_id) SELECT g FROM generate_series(1, 20000) g;`);
  await planMove({
    projectDir: dir,
    from: 'accounts.plan',
    to: 'billing.plan',
    on: 'id=account_id',
    id: 'accounts-plan',
    databaseUrl: db.url,
  });
  await advance({ projectDir: dir, release: '1.0.0' });
  const { spec } = await (await import('../../src/spec/load.js')).loadPhasesFile(join(dir, 'phases.yaml'));
  await applyStep(session, phaseSteps(spec.changes[0]!, 1).up[0]!);

  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/support/move-backfill-child.ts', db.url, dir, 'accounts-plan'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let done = 0;
  for (let i = 0; i < 600 && done < 2000; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    done =
      (await session.query(`SELECT rows_done::int AS n FROM phasectl.backfills WHERE change_id = 'accounts-plan'`))
        .rows[0]?.n ?? 0;
  }
  child.kill('SIGKILL');
  await exited;
  expect(stderr).toBe('');
  await killedBackendsGone(session);
  const saved = (
    await session.query(
      `SELECT rows_done::int AS n, (last_key->>0)::int AS last, finished_at FROM phasectl.backfills WHERE change_id = 'accounts-plan'`,
    )
  ).rows[0];
  expect(saved.n).toBeGreaterThanOrEqual(2000);
  expect(saved.last).toBe(saved.n);
  expect(saved.finished_at).toBeNull();
  const differingIds = async () =>
    (
      await session.query(
        `SELECT a.id::int FROM public.accounts a JOIN public.billing b ON b.account_id = a.id WHERE b.plan IS DISTINCT FROM a.plan ORDER BY a.id`,
      )
    ).rows.map((row) => row.id as number);
  expect(await differingIds()).toHaveLength(20000 - saved.n);
  // Pairs behind the stored key made to differ on purpose (behind the trigger): a resume does not walk them again.
  await session.query(behindSyncTriggers(`UPDATE public.billing SET plan = 'behind the key' WHERE account_id <= 10`));

  const result = await migrate({ databaseUrl: db.url, projectDir: dir });
  expect(result.applied.find((file) => file.action === 'backfill')?.backfill).toMatchObject({
    rowsUpdated: 20000 - saved.n,
    rowsDone: 20000,
  });
  expect(await differingIds()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const finished = (
    await session.query(
      `SELECT rows_done::int AS n, finished_at FROM phasectl.backfills WHERE change_id = 'accounts-plan'`,
    )
  ).rows[0];
  expect(finished.finished_at).not.toBeNull();
  expect(finished.n).toBe(20000);
});

/**
 * The walk goes over the source table's key. When the join is on other columns, an UPDATE that changed only the key of
 * a source row not copied yet wrote nothing the sync trigger watched: a new key the walk had passed left the pair
 * uncopied. The source's update trigger watches the key too.
 */
test('a key update of a source row not copied yet (join on other columns), to a key the walk has passed, copies it', async () => {
  await session.query(`
    CREATE SCHEMA move_key;
    CREATE TABLE move_key.users (id bigint PRIMARY KEY, email text NOT NULL UNIQUE, address text);
    CREATE TABLE move_key.profiles (id serial PRIMARY KEY, user_email text UNIQUE);
    INSERT INTO move_key.users SELECT g, 'u' || g || '@example.com', 'street ' || g FROM generate_series(1, 1000) g;
    INSERT INTO move_key.profiles (user_email) SELECT email FROM move_key.users;`);
  const move: MoveChange = {
    ...change('move-key-move', 'move_key'),
    move: {
      from: { schema: 'move_key', table: 'users', column: 'address' },
      to: { schema: 'move_key', table: 'profiles', column: 'address' },
      on: [{ from: 'email', to: 'user_email' }],
    },
  };
  // After the first batch (keys 1-10): user 900, far ahead of the walk, gets a key the walk has passed.
  await backfillWithWriteAfterFirstBatch(
    session,
    db.url,
    phaseSteps(move, 1).up,
    `UPDATE move_key.users SET id = -1 WHERE id = 900`,
  );
  const { rows } = await session.query(
    `SELECT count(*)::int AS n FROM move_key.users AS u JOIN move_key.profiles AS p ON p.user_email = u.email
     WHERE p.address IS DISTINCT FROM u.address`,
  );
  expect(rows[0].n).toBe(0);
});
