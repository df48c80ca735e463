import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { phaseSteps } from '../../src/operations/index.js';
import { defaultGenerationSettings } from '../../src/operations/settings.js';
import { afterInsertTriggerName } from '../../src/operations/naming.js';
import type { MoveChange } from '../../src/spec/types.js';
import { splitStatements } from '../../src/sql/split-statements.js';
import { applyStep, applySteps } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';

/**
 * A move's insert sync and upserts. PostgreSQL fires BEFORE INSERT row triggers for every row an INSERT … ON CONFLICT
 * proposes, before it checks the conflict: the write-through to the partner row of the other table must wait for the
 * AFTER INSERT trigger, which fires only for rows really inserted. Generated SQL applied as a plain runner would.
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let session: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  session = new pg.Client({ connectionString: db.url });
  await session.connect();
});
afterAll(async () => {
  await session?.end();
  await db?.drop();
});

function change(schema: string): MoveChange {
  return {
    kind: 'move',
    id: `${schema.replace(/_/g, '-')}-move`,
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

/**
 * The sync function and trigger templates of phasectl before the AFTER INSERT trigger (copied from it): v01 wrote an
 * insert through in the BEFORE INSERT trigger, and phase 1 created no AFTER INSERT trigger.
 */
const earlierTemplates = fileURLToPath(new URL('../fixtures/templates-before-after-insert', import.meta.url));

/** users 1..10 ('street <id>'), profiles for users 1..5 (no FK: either side may come first); phase 1 (and 2) applied. */
async function setUp(schema: string, phase: 1 | 2, templatesDir?: string): Promise<MoveChange> {
  await session.query(`
    CREATE SCHEMA ${schema};
    CREATE TABLE ${schema}.users (id bigint PRIMARY KEY, address text);
    CREATE TABLE ${schema}.profiles (id int PRIMARY KEY, user_id bigint UNIQUE, note text);
    INSERT INTO ${schema}.users SELECT g, 'street ' || g FROM generate_series(1, 10) g;
    INSERT INTO ${schema}.profiles (id, user_id) SELECT g, g FROM generate_series(1, 5) g;`);
  const move = change(schema);
  await applySteps(session, phaseSteps(move, 1, { ...defaultGenerationSettings, templatesDir }).up);
  if (phase === 2) await applySteps(session, phaseSteps(move, 2).up);
  return move;
}

async function pair(schema: string, id: number) {
  const { rows } = await session.query<{ source: string | null; target: string | null }>(
    `SELECT (SELECT address FROM ${schema}.users WHERE id = $1) AS source,
            (SELECT address FROM ${schema}.profiles WHERE user_id = $1) AS target`,
    [id],
  );
  return rows[0];
}

/** Sets both sides of a pair behind the sync (marked as the backfill marks its writes). */
async function setPair(schema: string, id: number, source: string | null, target: string | null) {
  await session.query(`BEGIN; SELECT set_config('phasectl.backfill', 'on', true);
    UPDATE ${schema}.users SET address = ${source === null ? 'NULL' : `'${source}'`} WHERE id = ${id};
    UPDATE ${schema}.profiles SET address = ${target === null ? 'NULL' : `'${target}'`} WHERE user_id = ${id};
    COMMIT;`);
}

for (const phase of [1, 2] as const) {
  describe(`phase ${phase} (authority: ${phase === 1 ? 'users' : 'profiles'})`, () => {
    test('an upsert that inserts nothing leaves the partner row untouched, on both tables', async () => {
      const schema = `m_nothing_${phase}`;
      await setUp(schema, phase);
      // Partner without a value: a plain insert would write through.
      await setPair(schema, 1, null, null);
      await session.query(`INSERT INTO ${schema}.users (id, address) VALUES (1, 'upsert') ON CONFLICT DO NOTHING`);
      expect(await pair(schema, 1)).toEqual({ source: null, target: null });
      await session.query(
        `INSERT INTO ${schema}.users (id, address) VALUES (1, 'upsert') ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address WHERE false`,
      );
      expect(await pair(schema, 1)).toEqual({ source: null, target: null });
      // A profile for user 7 (no profile yet) proposed under a taken profile id: it conflicts on the primary key.
      await setPair(schema, 7, null, null);
      await session.query(
        `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (2, 7, 'upsert') ON CONFLICT DO NOTHING`,
      );
      await session.query(
        `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (2, 7, 'upsert') ON CONFLICT (id) DO UPDATE SET note = 'x' WHERE false`,
      );
      expect(await pair(schema, 7)).toEqual({ source: null, target: null });
      await session.query(
        `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (3, 3, 'upsert') ON CONFLICT DO NOTHING`,
      );
      expect(await pair(schema, 3)).toEqual({ source: 'street 3', target: 'street 3' });
      // Both set and different, on the authority's side: a plain insert would win over the partner.
      const authority = phase === 1 ? 'users' : 'profiles';
      if (authority === 'users') {
        await session.query(`INSERT INTO ${schema}.users (id, address) VALUES (2, 'upsert') ON CONFLICT DO NOTHING`);
        await session.query(
          `INSERT INTO ${schema}.users (id, address) VALUES (2, 'upsert') ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address WHERE false`,
        );
        expect(await pair(schema, 2)).toEqual({ source: 'street 2', target: 'street 2' });
      } else {
        await session.query(
          `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (4, 8, 'upsert') ON CONFLICT DO NOTHING`,
        );
        await session.query(
          `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (4, 8, 'upsert') ON CONFLICT (id) DO UPDATE SET note = 'x' WHERE false`,
        );
        expect(await pair(schema, 8)).toEqual({ source: 'street 8', target: null });
      }
      // A later BEFORE trigger that skips the insert: nothing reaches the partner either.
      await setPair(schema, 9, null, null);
      await session.query(`
        CREATE FUNCTION ${schema}.skip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
        CREATE TRIGGER zzzz_skip BEFORE INSERT ON ${schema}.profiles FOR EACH ROW EXECUTE FUNCTION ${schema}.skip();
        INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (9, 9, 'skipped');
        DROP TRIGGER zzzz_skip ON ${schema}.profiles;`);
      expect(await pair(schema, 9)).toEqual({ source: null, target: null });
    });

    test('an upsert that takes the update path syncs like an update', async () => {
      const schema = `m_update_${phase}`;
      await setUp(schema, phase);
      await session.query(
        `INSERT INTO ${schema}.users (id, address) VALUES (1, 'upserted') ON CONFLICT (id) DO UPDATE SET address = 'updated'`,
      );
      expect(await pair(schema, 1)).toEqual({ source: 'updated', target: 'updated' });
      await session.query(
        `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (2, 2, 'upserted') ON CONFLICT (user_id) DO UPDATE SET address = 'updated'`,
      );
      expect(await pair(schema, 2)).toEqual({ source: 'updated', target: 'updated' });
      // EXCLUDED is the row as the BEFORE INSERT trigger left it: the proposed value, on either side (the trigger
      // leaves a row whose join values this table already holds as the application wrote it).
      await session.query(
        `INSERT INTO ${schema}.users (id, address) VALUES (5, 'excluded 5') ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address`,
      );
      expect(await pair(schema, 5)).toEqual({ source: 'excluded 5', target: 'excluded 5' });
      await session.query(
        `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (5, 5, 'excluded 5b') ON CONFLICT (user_id) DO UPDATE SET address = EXCLUDED.address`,
      );
      expect(await pair(schema, 5)).toEqual({ source: 'excluded 5b', target: 'excluded 5b' });
      if (phase === 1) {
        await session.query(
          `INSERT INTO ${schema}.users (id, address) VALUES (3, 'excluded') ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address`,
        );
        expect(await pair(schema, 3)).toEqual({ source: 'excluded', target: 'excluded' });
      } else {
        await session.query(
          `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (3, 3, 'excluded') ON CONFLICT (user_id) DO UPDATE SET address = EXCLUDED.address`,
        );
        expect(await pair(schema, 3)).toEqual({ source: 'excluded', target: 'excluded' });
      }
      // A proposed NULL on the update path is an update to NULL (not a new pairing taking the partner's value).
      await session.query(
        `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (4, 4, NULL) ON CONFLICT (user_id) DO UPDATE SET address = EXCLUDED.address`,
      );
      expect(await pair(schema, 4)).toEqual({ source: null, target: null });
      await session.query(
        `INSERT INTO ${schema}.users (id, address) VALUES (3, NULL) ON CONFLICT (id) DO UPDATE SET address = EXCLUDED.address`,
      );
      expect(await pair(schema, 3)).toEqual({ source: null, target: null });
    });

    test('a plain insert still writes through in every rule branch, one row or many', async () => {
      const schema = `m_insert_${phase}`;
      await setUp(schema, phase);
      // Partner without a value, both directions.
      await setPair(schema, 1, null, null);
      await session.query(`DELETE FROM ${schema}.profiles WHERE user_id = 1`);
      await session.query(`INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (1, 1, 'from profiles')`);
      expect(await pair(schema, 1)).toEqual({ source: 'from profiles', target: 'from profiles' });
      await session.query(`INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (11, 11, 'early')`);
      await session.query(`INSERT INTO ${schema}.users (id) VALUES (11)`);
      expect(await pair(schema, 11)).toEqual({ source: 'early', target: 'early' });
      await session.query(`INSERT INTO ${schema}.profiles (id, user_id) VALUES (12, 12)`);
      await session.query(`INSERT INTO ${schema}.users (id, address) VALUES (12, 'from users')`);
      expect(await pair(schema, 12)).toEqual({ source: 'from users', target: 'from users' });
      // Both set and different: the authority's value wins on both sides.
      await session.query(`INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (13, 13, 'profile first')`);
      await session.query(`INSERT INTO ${schema}.users (id, address) VALUES (13, 'user second')`);
      expect(await pair(schema, 13)).toEqual(
        phase === 1
          ? { source: 'user second', target: 'user second' }
          : { source: 'profile first', target: 'profile first' },
      );
      await session.query(`INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (6, 6, 'profile second')`);
      expect(await pair(schema, 6)).toEqual(
        phase === 1
          ? { source: 'street 6', target: 'street 6' }
          : { source: 'profile second', target: 'profile second' },
      );
      // Many rows in one statement: users without profiles get theirs; new users take or give their profile's value.
      await session.query(`UPDATE ${schema}.users SET address = NULL WHERE id = 9`);
      await session.query(
        `INSERT INTO ${schema}.profiles (id, user_id, address) SELECT g, g, CASE WHEN g = 9 THEN 'nine' END FROM generate_series(7, 10) g`,
      );
      await session.query(`INSERT INTO ${schema}.profiles (id, user_id) SELECT g, g FROM generate_series(20, 24) g`);
      await session.query(
        `INSERT INTO ${schema}.users (id, address) SELECT g, CASE WHEN g % 2 = 0 THEN 'many ' || g END FROM generate_series(20, 24) g
         ON CONFLICT DO NOTHING`,
      );
      const { rows } = await session.query(
        `SELECT u.id::int, u.address AS source, p.address AS target FROM ${schema}.users u JOIN ${schema}.profiles p ON p.user_id = u.id
          WHERE u.id BETWEEN 7 AND 24 ORDER BY u.id`,
      );
      expect(rows).toEqual([
        { id: 7, source: 'street 7', target: 'street 7' },
        { id: 8, source: 'street 8', target: 'street 8' },
        { id: 9, source: 'nine', target: 'nine' },
        { id: 10, source: 'street 10', target: 'street 10' },
        { id: 11, source: 'early', target: 'early' },
        { id: 12, source: 'from users', target: 'from users' },
        {
          id: 13,
          source: phase === 1 ? 'user second' : 'profile first',
          target: phase === 1 ? 'user second' : 'profile first',
        },
        { id: 20, source: 'many 20', target: 'many 20' },
        { id: 21, source: null, target: null },
        { id: 22, source: 'many 22', target: 'many 22' },
        { id: 23, source: null, target: null },
        { id: 24, source: 'many 24', target: 'many 24' },
      ]);
    });
  });
}

test.for([
  ['an earlier phasectl (no AFTER INSERT triggers)', 'm_upgrade', earlierTemplates],
  ['this phasectl', 'm_current', undefined],
] as const)(
  'the switch and switch-back statement by statement (psql without -1) after phase 1 of %s: every insert writes through',
  async ([, schema, templatesDir]) => {
    const move = await setUp(schema, 1, templatesDir);
    const trigger = afterInsertTriggerName(move.id);
    const triggers = async () =>
      (
        await session.query(
          `SELECT tgrelid::regclass::text AS tbl, tgenabled FROM pg_trigger WHERE tgname = $1 ORDER BY 1`,
          [trigger],
        )
      ).rows;
    // An earlier phasectl left no AFTER INSERT trigger (its v01 wrote an insert through BEFORE INSERT).
    expect(await triggers()).toHaveLength(templatesDir === undefined ? 2 : 0);
    let step = 0;
    const lost: string[] = [];
    // Each side inserts a value whose partner row has none: it must reach the partner, in every version.
    const insertsWriteThrough = async (where: string) => {
      step += 1;
      const [user, profile] = [100 + 2 * step, 101 + 2 * step];
      await session.query(`INSERT INTO ${schema}.profiles (id, user_id) VALUES (${user}, ${user})`);
      await session.query(`INSERT INTO ${schema}.users (id, address) VALUES (${user}, 'u${step}')`);
      await session.query(`INSERT INTO ${schema}.users (id) VALUES (${profile})`);
      await session.query(
        `INSERT INTO ${schema}.profiles (id, user_id, address) VALUES (${profile}, ${profile}, 'p${step}')`,
      );
      for (const [id, value] of [
        [user, `u${step}`],
        [profile, `p${step}`],
      ] as const) {
        const found = await pair(schema, id);
        if (found?.source !== value || found.target !== value)
          lost.push(`${where}: pair ${id} holds ${found?.source} / ${found?.target}, inserted ${value}`);
      }
    };
    await insertsWriteThrough('phase 1');
    const [verify, switchStep] = phaseSteps(move, 2).up;
    await applyStep(session, verify!);
    // psql without -1: one statement at a time, inserts between every two.
    for (const statement of splitStatements(switchStep!.sql)) {
      await session.query(statement);
      await insertsWriteThrough(`switch after ${statement.slice(0, 60).replace(/\s+/g, ' ')}`);
    }
    expect(lost).toEqual([]);
    expect(await triggers()).toEqual([
      { tbl: `${schema}.profiles`, tgenabled: 'A' },
      { tbl: `${schema}.users`, tgenabled: 'A' },
    ]);
    // The same for the switch-back (it finds the triggers and leaves them).
    for (const statement of splitStatements(phaseSteps(move, 2).down[0]!.sql)) {
      await session.query(statement);
      await insertsWriteThrough(`switch-back after ${statement.slice(0, 60).replace(/\s+/g, ' ')}`);
    }
    expect(lost).toEqual([]);
    expect(await triggers()).toHaveLength(2);
    // And this version's rollback of phase 1 removes them with the rest.
    await applySteps(session, phaseSteps(move, 1).down);
    expect(await triggers()).toEqual([]);
    expect(
      (
        await session.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE $1`, [
          `zz_phasectl_sync_${schema.replace(/_/g, '\\_')}%`,
        ])
      ).rows,
    ).toEqual([{ n: 0 }]);
  },
);
