import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { phaseSteps } from '../../src/operations/index.js';
import type { PhaseSteps, Step } from '../../src/operations/types.js';
import type { Change, MoveChange, RenameChange } from '../../src/spec/types.js';
import { applyStep, applySteps } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';
import { databaseState, writeBehindTrigger } from '../support/guard-state.js';

/**
 * The guards inside the generated SQL, applied the way another runner (psql, a CI job) would apply the
 * files: phase 3 refuses while phase 2 is not applied, without a clean verification since phase 2, or while
 * a user trigger names the dropped column; the switch refuses an unfinished backfill, a verification that
 * found differing rows or one older than the backfill, and another change's rows; the rollback of phase 1
 * refuses to drop another table's index. (scripts/template-guard-mutation.mjs: each guard term needs one of
 * these, docs/mutation-testing.md.) Each refusal names the change and the reason, and leaves
 * schema, data, sync functions and phasectl's state exactly as they were.
 */
const ROWS = 300;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let session: pg.Client;
beforeAll(async () => {
  db = await createTestDatabase();
  session = new pg.Client({ connectionString: db.url });
  await session.connect();
  await session.query(`
    CREATE SCHEMA r;
    CREATE TABLE r.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown');
    INSERT INTO r.users SELECT g, 'title ' || g FROM generate_series(1, ${ROWS}) g;
    CREATE SCHEMA m;
    CREATE TABLE m.users (id bigint PRIMARY KEY, address text);
    CREATE TABLE m.profiles (id serial PRIMARY KEY, user_id bigint UNIQUE, bio text);
    INSERT INTO m.users SELECT g, 'street ' || g FROM generate_series(1, ${ROWS}) g;
    INSERT INTO m.profiles (user_id) SELECT g FROM generate_series(1, ${ROWS}) g;`);
});
afterAll(async () => {
  await session?.end();
  await db?.drop();
});

const rename: RenameChange = {
  kind: 'rename',
  id: 'r-users-job-title',
  rename: { schema: 'r', table: 'users', from: 'job_title', to: 'favourite_color' },
  column: { type: 'text', nullable: false, default: "'unknown'::text", indexes: [], constraints: [] },
  key: { columns: ['id'], types: ['bigint'] },
  releases: { phase1: '1.0.0', phase2: '1.1.0', phase3: '1.2.0' },
};

const move: MoveChange = {
  kind: 'move',
  id: 'm-users-address',
  move: {
    from: { schema: 'm', table: 'users', column: 'address' },
    to: { schema: 'm', table: 'profiles', column: 'address' },
    on: [{ from: 'id', to: 'user_id' }],
  },
  column: { type: 'text', nullable: true, indexes: [], constraints: [] },
  key: { columns: ['id'], types: ['bigint'] },
  target: { existingColumn: false },
  releases: { phase1: '1.0.0', phase2: '1.1.0', phase3: '1.2.0' },
};

interface Case {
  change: Change;
  tables: string[];
  /** SQL that makes one pair differ when run behind the trigger. */
  tamper: string;
  /** SQL that makes it equal again, behind the trigger. */
  repair: string;
  /** The table and column phase 3 drops. */
  dropped: { schema: string; table: string; column: string };
}

const cases: Case[] = [
  {
    change: rename,
    tables: ['r.users'],
    tamper: `UPDATE r.users SET favourite_color = 'tampered' WHERE id = 7`,
    repair: `UPDATE r.users SET favourite_color = job_title WHERE id = 7`,
    dropped: { schema: 'r', table: 'users', column: 'job_title' },
  },
  {
    change: move,
    tables: ['m.users', 'm.profiles'],
    tamper: `UPDATE m.profiles SET address = 'tampered' WHERE user_id = 7`,
    repair: `UPDATE m.profiles SET address = 'street 7' WHERE user_id = 7`,
    dropped: { schema: 'm', table: 'users', column: 'address' },
  },
];

function stepNamed(steps: PhaseSteps, name: string): Step {
  const found = steps.up.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no up step ${name}`);
  return found;
}

/** Applies a step that must be refused; returns the error (message, hint). */
async function refused(step: Step): Promise<{ message: string; hint?: string }> {
  const error = await applyStep(session, step).then(
    () => undefined,
    (caught: unknown) => caught as { message: string; hint?: string },
  );
  if (!error) throw new Error(`${step.name} was applied; it should have been refused`);
  return error;
}

describe.each(cases)('$change.kind $change.id', ({ change, tables, tamper, repair, dropped }) => {
  const p1 = phaseSteps(change, 1);
  const p2 = phaseSteps(change, 2);
  const p3 = phaseSteps(change, 3);
  const state = () => databaseState(session, tables);

  test('phase 1 applies (the starting point of every refusal below)', async () => {
    await applySteps(session, p1.up);
    expect((await session.query('SELECT phase FROM phasectl.changes WHERE id = $1', [change.id])).rows).toEqual([
      { phase: 1 },
    ]);
  });

  test("phase 3 refuses while phase 2 is not applied (another change's phase 2 does not count), and changes nothing", async () => {
    await session.query(`INSERT INTO phasectl.changes (id, phase) VALUES ('another-change', 2)`);
    try {
      const before = await state();
      const contractSteps = p3.up.filter((step) => step.name === 'unsync' || step.name === 'contract');
      expect(contractSteps.map((step) => step.name)).toEqual(
        change.kind === 'move' ? ['unsync', 'contract'] : ['contract'],
      );
      for (const step of contractSteps) {
        const error = await refused(step);
        expect(error.message).toBe(`phasectl: change ${change.id} cannot contract (phase 3): phase 2 is not applied`);
        expect(error.hint).toBe(
          `apply phase 2 of ${change.id} first: \`phasectl migrate\`, or deploy the release that holds it`,
        );
        expect(await state()).toEqual(before);
      }
    } finally {
      await session.query(`DELETE FROM phasectl.changes WHERE id = 'another-change'`);
    }
  });

  test('the switch refuses a verification that found differing rows, and changes nothing', async () => {
    await writeBehindTrigger(db.url, tamper);
    // The generated verify step records the count and only warns; the switch is the step that must stop.
    await applyStep(session, stepNamed(p2, 'verify'));
    expect(
      (await session.query('SELECT differing::int FROM phasectl.verifications WHERE change_id = $1', [change.id])).rows,
    ).toEqual([{ differing: 1 }]);
    const before = await state();
    const error = await refused(stepNamed(p2, 'switch'));
    expect(error.message).toBe(
      `phasectl: change ${change.id} cannot switch to phase 2: no verification since the backfill found 0 differing rows`,
    );
    expect(error.hint).toMatch(new RegExp(`run \`phasectl verify ${change.id}\``));
    expect(await state()).toEqual(before);
  });

  test('the switch refuses a clean verification older than the backfill, and changes nothing', async () => {
    await writeBehindTrigger(db.url, repair);
    await applyStep(session, stepNamed(p2, 'verify'));
    expect(
      (await session.query('SELECT differing::int FROM phasectl.verifications WHERE change_id = $1', [change.id])).rows,
    ).toEqual([{ differing: 0 }]);
    // The backfill finished again after that verification (a re-run, a repair): the count no longer proves anything.
    await session.query(
      `UPDATE phasectl.verifications SET checked_at = (SELECT finished_at FROM phasectl.backfills WHERE change_id = $1 AND direction = 'up') - interval '1 second'
       WHERE change_id = $1`,
      [change.id],
    );
    const before = await state();
    const error = await refused(stepNamed(p2, 'switch'));
    expect(error.message).toBe(
      `phasectl: change ${change.id} cannot switch to phase 2: no verification since the backfill found 0 differing rows`,
    );
    expect(await state()).toEqual(before);
  });

  // Rows of another change and a finished 'down' backfill of this one: each join term of the switch guards is
  // needed to refuse them (a guard that lost one would take them as this change's finished backfill or verification).
  const strangers = async () => {
    await session.query(
      `INSERT INTO phasectl.backfills (change_id, direction, finished_at) VALUES
      ('another-change', 'up', '2000-01-01'), ($1, 'down', '2000-01-01')`,
      [change.id],
    );
    await session.query(
      `INSERT INTO phasectl.verifications (change_id, differing, checked_at) VALUES ('another-change', 0, now())`,
    );
  };
  const removeStrangers = async () => {
    await session.query(
      `DELETE FROM phasectl.backfills WHERE change_id = 'another-change' OR (change_id = $1 AND direction = 'down')`,
      [change.id],
    );
    await session.query(`DELETE FROM phasectl.verifications WHERE change_id = 'another-change'`);
  };

  test("the switch refuses while its own backfill is unfinished (not another change's, not a down backfill), and changes nothing", async () => {
    const { finished } = (
      await session.query(
        `SELECT finished_at AS finished FROM phasectl.backfills WHERE change_id = $1 AND direction = 'up'`,
        [change.id],
      )
    ).rows[0];
    await session.query(`UPDATE phasectl.backfills SET finished_at = NULL WHERE change_id = $1 AND direction = 'up'`, [
      change.id,
    ]);
    await strangers();
    try {
      const before = await state();
      const error = await refused(stepNamed(p2, 'switch'));
      expect(error.message).toBe(
        `phasectl: change ${change.id} cannot switch to phase 2: its backfill has not finished`,
      );
      expect(error.hint).toBe(
        `run \`phasectl backfill ${change.id}\`, then \`phasectl verify ${change.id}\`, then migrate again`,
      );
      expect(await state()).toEqual(before);
    } finally {
      await removeStrangers();
      await session.query(`UPDATE phasectl.backfills SET finished_at = $2 WHERE change_id = $1 AND direction = 'up'`, [
        change.id,
        finished,
      ]);
    }
  });

  test("the switch refuses another change's clean verification and one checked after a down backfill, and changes nothing", async () => {
    // This change's own verification is still the clean one older than its backfill (test above).
    await strangers();
    try {
      const before = await state();
      const error = await refused(stepNamed(p2, 'switch'));
      expect(error.message).toBe(
        `phasectl: change ${change.id} cannot switch to phase 2: no verification since the backfill found 0 differing rows`,
      );
      expect(await state()).toEqual(before);
    } finally {
      await removeStrangers();
    }
  });

  test('with a fresh clean verification the same switch applies (the refusals above were the guards)', async () => {
    await applySteps(session, p2.up);
    expect((await session.query('SELECT phase FROM phasectl.changes WHERE id = $1', [change.id])).rows).toEqual([
      { phase: 2 },
    ]);
  });

  test("phase 3 refuses without a clean verification since phase 2 (its own, not another change's), and changes nothing", async () => {
    // Another change already contracted, with a clean verification: neither may stand in for this change's.
    await session.query(
      `INSERT INTO phasectl.changes (id, phase, updated_at) VALUES ('another-change', 3, '2000-01-01')`,
    );
    await session.query(
      `INSERT INTO phasectl.verifications (change_id, differing, checked_at) VALUES ('another-change', 0, now())`,
    );
    const contractSteps = p3.up.filter((step) => step.name === 'unsync' || step.name === 'contract');
    const expectRefused = async () => {
      const before = await state();
      for (const step of contractSteps) {
        const error = await refused(step);
        expect(error.message).toBe(
          `phasectl: change ${change.id} cannot contract (phase 3): no verification since phase 2 found 0 differing rows`,
        );
        expect(error.hint).toBe(
          `run \`phasectl verify ${change.id}\` (and \`phasectl backfill ${change.id} --repair\` if rows differ), then migrate again`,
        );
        expect(await state()).toEqual(before);
      }
    };
    try {
      // A verification since phase 2 that found a differing row.
      await writeBehindTrigger(db.url, tamper);
      await applyStep(session, stepNamed(p3, 'verify'));
      expect(
        (await session.query('SELECT differing::int FROM phasectl.verifications WHERE change_id = $1', [change.id]))
          .rows,
      ).toEqual([{ differing: 1 }]);
      await expectRefused();
      // A clean verification, but from before phase 2 was applied.
      await writeBehindTrigger(db.url, repair);
      await applyStep(session, stepNamed(p3, 'verify'));
      await session.query(
        `UPDATE phasectl.verifications SET checked_at = (SELECT updated_at FROM phasectl.changes WHERE id = $1) - interval '1 second' WHERE change_id = $1`,
        [change.id],
      );
      expect(
        (await session.query('SELECT differing::int FROM phasectl.verifications WHERE change_id = $1', [change.id]))
          .rows,
      ).toEqual([{ differing: 0 }]);
      await expectRefused();
    } finally {
      await session.query(`DELETE FROM phasectl.changes WHERE id = 'another-change'`);
      await session.query(`DELETE FROM phasectl.verifications WHERE change_id = 'another-change'`);
    }
  });

  test('phase 3 refuses to drop a column a user trigger still names, and changes nothing', async () => {
    const table = `${dropped.schema}.${dropped.table}`;
    await session.query(`CREATE FUNCTION ${dropped.schema}.audit_old() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE NOTICE 'old value %', NEW.${dropped.column}; RETURN NEW; END $$;
      CREATE TRIGGER user_audit BEFORE UPDATE ON ${table} FOR EACH ROW EXECUTE FUNCTION ${dropped.schema}.audit_old();`);
    try {
      await applyStep(session, stepNamed(p3, 'verify'));
      // A move removes its target-side trigger first (unsync); the column goes in the contract step.
      for (const step of p3.up.filter((candidate) => candidate.name === 'unsync')) await applyStep(session, step);
      const before = await state();
      const error = await refused(stepNamed(p3, 'contract'));
      expect(error.message).toBe(
        `phasectl: change ${change.id} cannot drop "${dropped.column}": trigger user_audit runs ${dropped.schema}.audit_old() still names it`,
      );
      expect(await state()).toEqual(before);
    } finally {
      await session.query(`DROP TRIGGER user_audit ON ${table}; DROP FUNCTION ${dropped.schema}.audit_old()`);
    }
  });

  test('with a fresh clean verification phase 3 applies (the refusals above were the guard)', async () => {
    await applySteps(session, p3.up);
    expect((await session.query('SELECT phase FROM phasectl.changes WHERE id = $1', [change.id])).rows).toEqual([
      { phase: 3 },
    ]);
  });
});

describe('rollback of phase 1: drop-indexes', () => {
  const change: RenameChange = {
    kind: 'rename',
    id: 'd-items-code',
    rename: { schema: 'd', table: 'items', from: 'code', to: 'sku' },
    column: {
      type: 'text',
      nullable: true,
      indexes: [
        {
          name: 'items_code_idx',
          definition: 'CREATE INDEX items_code_idx ON d.items USING btree (code)',
          unique: false,
        },
      ],
      constraints: [],
    },
    key: { columns: ['id'], types: ['bigint'] },
    releases: { phase1: '1.0.0' },
  };

  test("refuses to drop a relation of another table that holds the built index's name, and changes nothing", async () => {
    await session.query(`CREATE SCHEMA d;
      CREATE TABLE d.items (id bigint PRIMARY KEY, code text);
      CREATE INDEX items_code_idx ON d.items (code);
      CREATE TABLE d.legacy (id bigint PRIMARY KEY, sku text);
      INSERT INTO d.items SELECT g, 'code ' || g FROM generate_series(1, 50) g;`);
    const p1 = phaseSteps(change, 1);
    await applySteps(session, p1.up);
    const built = (
      await session.query(
        `SELECT indexname FROM pg_indexes WHERE schemaname = 'd' AND tablename = 'items' AND indexdef LIKE '%(sku)%'`,
      )
    ).rows;
    expect(built).toHaveLength(1);
    const name = built[0].indexname as string;
    // The built index gone (dropped by hand), its name now held by an index of the application on another table.
    await session.query(`DROP INDEX d.${name}; CREATE INDEX ${name} ON d.legacy (sku)`);
    const before = await databaseState(session, ['d.items', 'd.legacy']);
    const step = p1.down.find((candidate) => candidate.name === 'drop-indexes');
    if (!step) throw new Error('no down step drop-indexes');
    const error = await refused(step);
    expect(error.message).toBe(`phasectl: "d"."${name}" is not an index on "d"."items": not dropping it`);
    expect(error.hint).toBe(
      'it belongs to the application: rename it (ALTER … RENAME TO …), run this step again, then rename it back',
    );
    expect(await databaseState(session, ['d.items', 'd.legacy'])).toEqual(before);
    expect(
      (await session.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'd' AND indexname = $1`, [name])).rows,
    ).toEqual([{ indexdef: `CREATE INDEX ${name} ON d.legacy USING btree (sku)` }]);
  });
});

describe('rollback of phase 1: drop-indexes and the replica identity', () => {
  const change: RenameChange = {
    kind: 'rename',
    id: 'ri-items-code',
    rename: { schema: 'ri', table: 'items', from: 'code', to: 'sku' },
    column: {
      type: 'text',
      nullable: false,
      indexes: [
        {
          name: 'items_code_key',
          definition: 'CREATE UNIQUE INDEX items_code_key ON ri.items USING btree (code)',
          unique: true,
        },
      ],
      constraints: [],
    },
    key: { columns: ['id'], types: ['bigint'] },
    releases: { phase1: '1.0.0' },
  };

  test('refuses to drop the copy the replica identity was pointed at after phase 1 (run alone, as psql would), and changes nothing', async () => {
    await session.query(`CREATE SCHEMA ri;
      CREATE TABLE ri.items (id bigint PRIMARY KEY, code text NOT NULL);
      CREATE UNIQUE INDEX items_code_key ON ri.items (code);
      INSERT INTO ri.items SELECT g, 'code ' || g FROM generate_series(1, 50) g;`);
    const p1 = phaseSteps(change, 1);
    await applySteps(session, p1.up);
    await session.query(`ALTER TABLE ri.items ALTER COLUMN sku SET NOT NULL;
      ALTER TABLE ri.items REPLICA IDENTITY USING INDEX items_sku_key`);
    const before = await databaseState(session, ['ri.items']);
    const step = p1.down.find((candidate) => candidate.name === 'drop-indexes');
    if (!step) throw new Error('no down step drop-indexes');
    const error = await refused(step);
    expect(error.message).toBe(
      'phasectl: index ri.items_sku_key is the replica identity of ri.items: dropping it would leave the table with REPLICA IDENTITY USING INDEX of no index, and every UPDATE and DELETE of it would fail while a publication publishes them; nothing was dropped',
    );
    expect(error.hint).toBe(
      'point the identity elsewhere first, after checking which key your subscribers and CDC consumers expect: ALTER TABLE "ri"."items" REPLICA IDENTITY USING INDEX "items_code_key"; or ALTER TABLE ri.items REPLICA IDENTITY DEFAULT; (the primary key), then run this step again',
    );
    expect(await databaseState(session, ['ri.items'])).toEqual(before);
    // The fix it names: the step drops the copy, the identity stays on an index that exists.
    await session.query(`ALTER TABLE "ri"."items" REPLICA IDENTITY USING INDEX "items_code_key"`);
    await applyStep(session, step);
    expect(
      (
        await session.query(
          `SELECT indexrelid::regclass::text AS index FROM pg_index WHERE indrelid = 'ri.items'::regclass AND indisreplident`,
        )
      ).rows,
    ).toEqual([{ index: 'ri.items_code_key' }]);
  });
});
