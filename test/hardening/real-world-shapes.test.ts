import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { chooseSyncTriggerName } from '../../src/catalog/sync-trigger-name.js';
import { connect } from '../../src/db/connect.js';
import { InputError } from '../../src/errors.js';
import type { RenameChange } from '../../src/spec/types.js';
import { createTestDatabase } from '../support/database.js';
import { inventory, lifecycle, planError, plannedRename } from '../support/hardening-rename.js';

/**
 * Schemas seen in real applications: each one either runs the whole lifecycle (phases 1–3 up, values
 * checked, then 3–1 down back to the original schema) or is refused by `plan` up front with a message
 * that names the objects in the way and says what to do.
 */

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let client: pg.Client;
let serverVersion = 0;
beforeAll(async () => {
  db = await createTestDatabase();
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
  serverVersion = Number((await client.query('SHOW server_version_num')).rows[0].server_version_num);
});
afterAll(async () => {
  await client?.end();
  await db?.drop();
});

const values = async (sql: string) => (await client.query(sql)).rows;

/** Phases 1–3 up, `after3` checks, then all downs: the schema (and `data`) must be exactly as before. */
async function fullCycle(
  change: RenameChange,
  data: string,
  checks: { after1?: () => Promise<void>; after3?: () => Promise<void> } = {},
) {
  const before = await inventory(client);
  const original = await values(data);
  const life = lifecycle(client, change);
  await life.up(1);
  await checks.after1?.();
  await life.up(2);
  await life.up(3);
  await checks.after3?.();
  await life.down(3);
  await life.down(2);
  await life.down(1);
  expect(await inventory(client)).toEqual(before);
  expect(await values(data)).toEqual(original);
}

async function refusal(schema: string, table: string, column: string): Promise<InputError> {
  const error = await planError(db.url, { schema, table, column }, 'renamed');
  expect(error).toBeInstanceOf(InputError);
  return error as InputError;
}

describe('lifecycles', () => {
  test('composite primary key: the backfill walks (tenant, id) as a row', async () => {
    await client.query(`CREATE SCHEMA composite;
      CREATE TABLE composite.notes (tenant int, id int, body text NOT NULL, PRIMARY KEY (tenant, id));
      INSERT INTO composite.notes SELECT g % 5, g, 'note ' || g FROM generate_series(1, 2500) g;`);
    const change = await plannedRename(
      db.url,
      { schema: 'composite', table: 'notes', column: 'body' },
      'content',
      'composite',
    );
    expect(change.key).toEqual({ columns: ['tenant', 'id'], types: ['integer', 'integer'] });
    await fullCycle(change, 'SELECT tenant, id, body FROM composite.notes ORDER BY 1, 2', {
      after3: async () => {
        expect(await values(`SELECT count(*)::int AS n FROM composite.notes WHERE content = 'note ' || id`)).toEqual([
          { n: 2500 },
        ]);
      },
    });
  });

  test('no primary key, only a unique NOT NULL key: the backfill walks it', async () => {
    await client.query(`CREATE SCHEMA uniquekey;
      CREATE TABLE uniquekey.skus (code text NOT NULL UNIQUE, label text, note text UNIQUE);
      INSERT INTO uniquekey.skus SELECT 'sku-' || g, 'label ' || g, NULL FROM generate_series(1, 1200) g;`);
    const change = await plannedRename(
      db.url,
      { schema: 'uniquekey', table: 'skus', column: 'label' },
      'title',
      'unique-key',
    );
    expect(change.key).toEqual({ columns: ['code'], types: ['text'] });
    await fullCycle(change, 'SELECT code, label FROM uniquekey.skus ORDER BY 1', {
      after3: async () =>
        expect(
          await values(`SELECT count(*)::int AS n FROM uniquekey.skus WHERE title = 'label ' || substr(code, 5)`),
        ).toEqual([{ n: 1200 }]),
    });
  });

  test('user BEFORE triggers run first and ours copies their final value; AFTER triggers fire once per write', async () => {
    await client.query(`CREATE SCHEMA trig;
      CREATE TABLE trig.users (id int PRIMARY KEY, title text, updated_at timestamptz);
      CREATE TABLE trig.audit (user_id int, title text);
      CREATE FUNCTION trig.normalise() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN NEW.title := upper(NEW.title); NEW.updated_at := now(); RETURN NEW; END $$;
      CREATE TRIGGER a_normalise BEFORE INSERT OR UPDATE ON trig.users FOR EACH ROW EXECUTE FUNCTION trig.normalise();
      CREATE FUNCTION trig.audit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO trig.audit VALUES (NEW.id, to_jsonb(NEW) ->> 'title'); RETURN NULL; END $$;
      CREATE TRIGGER audit_after AFTER INSERT OR UPDATE ON trig.users FOR EACH ROW EXECUTE FUNCTION trig.audit();
      INSERT INTO trig.users (id, title) SELECT g, 'title ' || g FROM generate_series(1, 500) g;
      TRUNCATE trig.audit;`);
    const change = await plannedRename(
      db.url,
      { schema: 'trig', table: 'users', column: 'title' },
      'job',
      'user-triggers',
    );
    const life = lifecycle(client, change);
    await life.up(1);
    // The old release writes lower case; the user trigger upper-cases it; ours (zz_…) fires last and copies that.
    await client.query(`INSERT INTO trig.users (id, title) VALUES (1001, 'new hire')`);
    await client.query(`UPDATE trig.users SET title = 'promoted' WHERE id = 1`);
    expect(await values(`SELECT id, title, job FROM trig.users WHERE id IN (1, 1001) ORDER BY id`)).toEqual([
      { id: 1, title: 'PROMOTED', job: 'PROMOTED' },
      { id: 1001, title: 'NEW HIRE', job: 'NEW HIRE' },
    ]);
    // The AFTER trigger fired once per application write (and, note, once per row the backfill rewrote).
    expect(await values(`SELECT count(*)::int AS n FROM trig.audit WHERE user_id = 1001`)).toEqual([{ n: 1 }]);
    expect(await values(`SELECT count(*)::int AS n FROM trig.audit`)).toEqual([{ n: 502 }]);
    expect(await values(`SELECT title FROM trig.audit WHERE user_id IN (1, 1001) ORDER BY ctid DESC LIMIT 2`)).toEqual([
      { title: 'PROMOTED' },
      { title: 'NEW HIRE' },
    ]);
    expect(await values(`SELECT count(*)::int AS n FROM trig.users WHERE job IS DISTINCT FROM title`)).toEqual([
      { n: 0 },
    ]);
    await life.up(2);
    // The application moves its trigger to the new column in the release of phase 2 (its body names the column).
    await client.query(`CREATE OR REPLACE FUNCTION trig.normalise() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN NEW.job := upper(NEW.job); NEW.updated_at := now(); RETURN NEW; END $$`);
    await client.query(`UPDATE trig.users SET job = 'lead' WHERE id = 2`);
    expect(await values(`SELECT title, job FROM trig.users WHERE id = 2`)).toEqual([{ title: 'LEAD', job: 'LEAD' }]);
    // The audit function still reads 'title' (by name, through to_jsonb): after phase 3 it would log NULL for
    // every write. Phase 3 stops and names it; rewritten to the new column, phase 3 goes through.
    await expect(life.up(3)).rejects.toThrow(
      'phasectl: change user-triggers cannot drop "title": trigger audit_after runs trig.audit() still names it',
    );
    expect(
      await values(
        `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_schema = 'trig' AND table_name = 'users' AND column_name = 'title'`,
      ),
    ).toEqual([{ n: 1 }]);
    await client.query(`CREATE OR REPLACE FUNCTION trig.audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN INSERT INTO trig.audit VALUES (NEW.id, to_jsonb(NEW) ->> 'job'); RETURN NULL; END $$`);
    await life.up(3);
    await client.query(`UPDATE trig.users SET job = 'boss' WHERE id = 3`);
    expect(await values(`SELECT job FROM trig.users WHERE id = 3`)).toEqual([{ job: 'BOSS' }]);
    expect(await values(`SELECT title FROM trig.audit WHERE user_id = 3 ORDER BY ctid DESC LIMIT 1`)).toEqual([
      { title: 'BOSS' },
    ]);
    expect(
      await values(
        `SELECT tgname FROM pg_trigger WHERE tgrelid = 'trig.users'::regclass AND NOT tgisinternal ORDER BY 1`,
      ),
    ).toEqual([{ tgname: 'a_normalise' }, { tgname: 'audit_after' }]);
  });

  test('expression and partial indexes, a CHECK and an outgoing foreign key are rebuilt on the new column', async () => {
    await client.query(`CREATE SCHEMA idx;
      CREATE TABLE idx.countries (code text PRIMARY KEY);
      INSERT INTO idx.countries VALUES ('fr'), ('de'), ('jp');
      CREATE TABLE idx.people (id int PRIMARY KEY, email text NOT NULL, country text REFERENCES idx.countries,
        CONSTRAINT people_email_check CHECK (email LIKE '%@%'));
      CREATE UNIQUE INDEX people_email_lower ON idx.people (lower(email));
      CREATE INDEX people_email_partial ON idx.people (email) WHERE email NOT LIKE '%@example.com';
      INSERT INTO idx.people SELECT g, 'p' || g || '@x.org', (ARRAY['fr', 'de', 'jp'])[1 + g % 3] FROM generate_series(1, 1500) g;`);
    const email = await plannedRename(
      db.url,
      { schema: 'idx', table: 'people', column: 'email' },
      'contact',
      'idx-email',
    );
    expect(email.column.indexes.map((index) => index.name)).toEqual(['people_email_lower', 'people_email_partial']);
    await fullCycle(email, 'SELECT id, email FROM idx.people ORDER BY 1', {
      after3: async () => {
        const indexes = await values(
          `SELECT pg_get_indexdef(indexrelid) AS def, indisvalid AS valid FROM pg_index WHERE indrelid = 'idx.people'::regclass AND NOT indisprimary ORDER BY 1`,
        );
        expect(indexes).toEqual([
          {
            def: "CREATE INDEX people_contact_partial ON idx.people USING btree (contact) WHERE (contact !~~ '%@example.com'::text)",
            valid: true,
          },
          { def: 'CREATE UNIQUE INDEX people_contact_lower ON idx.people USING btree (lower(contact))', valid: true },
        ]);
        await expect(
          client.query(`INSERT INTO idx.people (id, contact, country) VALUES (9999, 'P1@X.ORG', 'fr')`),
        ).rejects.toThrow(/people_contact_lower/);
        await expect(
          client.query(`INSERT INTO idx.people (id, contact, country) VALUES (9999, 'no-at-sign', 'fr')`),
        ).rejects.toThrow(/people_contact_check/);
      },
    });
    const country = await plannedRename(
      db.url,
      { schema: 'idx', table: 'people', column: 'country' },
      'country_code',
      'idx-country',
    );
    await fullCycle(country, 'SELECT id, country FROM idx.people ORDER BY 1', {
      after3: async () => {
        expect(
          await values(
            `SELECT conname, convalidated FROM pg_constraint WHERE conrelid = 'idx.people'::regclass AND contype = 'f'`,
          ),
        ).toEqual([{ conname: 'people_country_code_fkey', convalidated: true }]);
        await expect(
          client.query(`INSERT INTO idx.people (id, email, country_code) VALUES (9999, 'a@b', 'xx')`),
        ).rejects.toThrow(/foreign key/);
      },
    });
  });

  // A domain with a CHECK is refused by `plan` (ADD COLUMN of it rewrites the table: test/e2e/domain-column-cli); the
  // engine itself carries one (values and check kept), as this shows.
  test('enum, jsonb, array and domain-with-CHECK columns keep their type, values and domain check', async () => {
    await client.query(`CREATE SCHEMA types;
      CREATE TYPE types.mood AS ENUM ('sad', 'ok', 'happy');
      CREATE DOMAIN types.percent AS int CHECK (VALUE BETWEEN 0 AND 100);
      CREATE TABLE types.t (id int PRIMARY KEY, feeling types.mood NOT NULL DEFAULT 'ok', doc jsonb, tags text[], score types.percent);
      INSERT INTO types.t SELECT g, (ARRAY['sad', 'ok', 'happy']::types.mood[])[1 + g % 3], jsonb_build_object('n', g, 'nested', jsonb_build_array(g, 'x')),
        ARRAY['a' || g, NULL, 'c'], g % 101 FROM generate_series(1, 800) g;`);
    const cases: Array<[string, string, string]> = [
      ['feeling', 'mood', 'types.mood'],
      ['doc', 'document', 'jsonb'],
      ['tags', 'labels', 'text[]'],
      ['score', 'percentage', 'types.percent'],
    ];
    for (const [from, to, type] of cases) {
      const change = await plannedRename(db.url, { schema: 'types', table: 't', column: from }, to, `types-${from}`);
      await fullCycle(change, `SELECT id, ${from}::text AS v FROM types.t ORDER BY 1`, {
        after3: async () => {
          const [column] = await values(
            `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'types.t'::regclass AND attname = '${to}'`,
          );
          expect(column.type).toBe(type);
          if (from === 'score')
            await expect(client.query(`UPDATE types.t SET percentage = 101 WHERE id = 1`)).rejects.toThrow(/percent/);
        },
      });
    }
  });

  test('RLS enabled but not forced, policies on other columns: the owner backfills every row', async () => {
    await client.query(`CREATE SCHEMA rls;
      CREATE TABLE rls.docs (id int PRIMARY KEY, owner_name text, body text);
      ALTER TABLE rls.docs ENABLE ROW LEVEL SECURITY;
      CREATE POLICY docs_owner ON rls.docs USING (owner_name = current_user);
      INSERT INTO rls.docs SELECT g, 'someone_else', 'body ' || g FROM generate_series(1, 700) g;`);
    const change = await plannedRename(
      db.url,
      { schema: 'rls', table: 'docs', column: 'body' },
      'content',
      'rls-owner',
    );
    await fullCycle(change, 'SELECT id, body FROM rls.docs ORDER BY 1', {
      after3: async () =>
        expect(await values(`SELECT count(*)::int AS n FROM rls.docs WHERE content = 'body ' || id`)).toEqual([
          { n: 700 },
        ]),
    });
  });
});

describe('refused up front by plan', () => {
  test('the partition key column of a partitioned table: says why and what to do (issue 13)', async () => {
    await client.query(`CREATE SCHEMA part;
      CREATE TABLE part.events (id int, at date NOT NULL, kind text, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE part.events_2024 PARTITION OF part.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');`);
    const error = await refusal('part', 'events', 'at');
    expect(error.message).toBe(
      'part.events.at is part of the partition key of part.events (PARTITION BY RANGE (at)); PostgreSQL cannot change a partition key, so the old column could never be dropped',
    );
    expect(error.hint).toMatch(/RENAME COLUMN/);
  });

  test('a column read by a materialized view (plain views are re-pointed in phase 3; issue 12)', async () => {
    await client.query(`CREATE SCHEMA views; CREATE TABLE views.t (id int PRIMARY KEY, name text);
      CREATE VIEW views.names AS SELECT name FROM views.t; CREATE MATERIALIZED VIEW views."Upper Names" AS SELECT upper(name) FROM views.t;`);
    const error = await refusal('views', 't', 'name');
    expect(error.message).toContain('materialized view views."Upper Names"');
    expect(error.message).not.toContain('views.names');
    expect(error.hint).toMatch(/REFRESH MATERIALIZED VIEW CONCURRENTLY/);
  });

  test('generated and identity columns', async () => {
    await client.query(`CREATE SCHEMA gen; CREATE TABLE gen.t (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, n int, seq int GENERATED BY DEFAULT AS IDENTITY,
      double int GENERATED ALWAYS AS (n * 2) STORED)`);
    expect((await refusal('gen', 't', 'double')).message).toMatch(/gen\.t\.double is a generated column/);
    const identity = await refusal('gen', 't', 'seq');
    expect(identity.message).toMatch(/gen\.t\.seq is an identity column/);
    expect(identity.hint).toMatch(/DROP IDENTITY, ALTER COLUMN "seq" SET DEFAULT nextval/);
  });

  test('a serial column: a rename is planned (phase 3 gives the owned sequence to the new column; a move refuses it)', async () => {
    await client.query(`CREATE SCHEMA ser; CREATE TABLE ser.t (id int PRIMARY KEY, ticket serial)`);
    const change = await plannedRename(db.url, { schema: 'ser', table: 't', column: 'ticket' }, 'number');
    expect(change.column.default).toBe(`nextval('ser.t_ticket_seq'::regclass)`);
  });

  test('foreign keys of other tables pointing at the column are carried onto the new column and back', async () => {
    await client.query(`CREATE SCHEMA fk; CREATE TABLE fk.users (id int PRIMARY KEY, email text UNIQUE);
      CREATE TABLE fk.invites (id int PRIMARY KEY, email text CONSTRAINT invites_email_fkey REFERENCES fk.users (email) ON DELETE CASCADE);
      CREATE TABLE fk.logins (id int PRIMARY KEY, email text);
      ALTER TABLE fk.logins ADD CONSTRAINT "Logins Email" FOREIGN KEY (email) REFERENCES fk.users (email) NOT VALID;
      INSERT INTO fk.users SELECT g, 'u' || g FROM generate_series(1, 300) g;
      INSERT INTO fk.invites SELECT g, 'u' || g FROM generate_series(1, 300) g;`);
    const change = await plannedRename(db.url, { schema: 'fk', table: 'users', column: 'email' }, 'Mail', 'fk');
    expect(change.dependents?.foreignKeys.map((key) => key.name)).toEqual(['invites_email_fkey', 'Logins Email']);
    await fullCycle(
      change,
      'SELECT u.id, u.email, i.email AS invite FROM fk.users u LEFT JOIN fk.invites i USING (id) ORDER BY 1',
      {
        after3: async () => {
          const keys = (
            await client.query(`SELECT conname, pg_get_constraintdef(oid) AS def, convalidated FROM pg_constraint
          WHERE contype = 'f' AND confrelid = 'fk.users'::regclass ORDER BY 1`)
          ).rows;
          expect(keys).toEqual([
            {
              conname: 'Logins Email_Mail',
              def: 'FOREIGN KEY (email) REFERENCES fk.users("Mail") NOT VALID',
              convalidated: false,
            },
            {
              conname: 'invites_email_fkey_Mail',
              def: 'FOREIGN KEY (email) REFERENCES fk.users("Mail") ON DELETE CASCADE',
              convalidated: true,
            },
          ]);
          await client.query(`DELETE FROM fk.users WHERE id = 1`);
          expect((await client.query(`SELECT count(*)::int AS n FROM fk.invites WHERE id = 1`)).rows).toEqual([
            { n: 0 },
          ]);
          await client.query(`INSERT INTO fk.users VALUES (1, 'u1'); INSERT INTO fk.invites VALUES (1, 'u1')`);
        },
      },
    );
  });

  test('a foreign key on a partitioned table pointing at the column is refused with the reason', async () => {
    await client.query(`CREATE SCHEMA fkp; CREATE TABLE fkp.users (id int PRIMARY KEY, email text UNIQUE);
      CREATE TABLE fkp.events (id int, email text CONSTRAINT events_email_fkey REFERENCES fkp.users (email)) PARTITION BY RANGE (id);`);
    const error = await refusal('fkp', 'users', 'email');
    expect(error.message).toBe(
      'fkp.users.email is referenced by foreign key events_email_fkey on fkp.events, a partitioned table; PostgreSQL cannot add that key NOT VALID, so copying it would lock fkp.events for a full scan',
    );
    expect(error.hint).toMatch(/drop that foreign key before the change/);
  });

  test('row-level security: FORCE, and policies that use the column', async () => {
    await client.query(`CREATE SCHEMA sec;
      CREATE TABLE sec.forced (id int PRIMARY KEY, body text);
      ALTER TABLE sec.forced ENABLE ROW LEVEL SECURITY; ALTER TABLE sec.forced FORCE ROW LEVEL SECURITY;
      CREATE TABLE sec.policed (id int PRIMARY KEY, tenant text, body text);
      ALTER TABLE sec.policed ENABLE ROW LEVEL SECURITY;
      CREATE POLICY tenant_only ON sec.policed USING (tenant = current_setting('app.tenant', true));`);
    const forced = await refusal('sec', 'forced', 'body');
    expect(forced.message).toMatch(/FORCE ROW LEVEL SECURITY.*silently skip/);
    expect(forced.hint).toMatch(/NO FORCE ROW LEVEL SECURITY|BYPASSRLS/);
    const policed = await refusal('sec', 'policed', 'tenant');
    expect(policed.message).toBe('sec.policed.tenant is used by policy tenant_only; phase 3 could not drop it safely');
    expect(policed.hint).toMatch(/ALTER POLICY/);
  });

  test('statistics that name the column (a trigger naming it is carried, see dependents-refusals)', async () => {
    await client.query(`CREATE SCHEMA deps; CREATE TABLE deps.t (id int PRIMARY KEY, status text, other text);
      CREATE FUNCTION deps.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER on_status BEFORE UPDATE OF status ON deps.t FOR EACH ROW EXECUTE FUNCTION deps.noop();
      CREATE STATISTICS deps.t_stats (dependencies) ON status, other FROM deps.t;`);
    const error = await refusal('deps', 't', 'status');
    expect(error.message).toBe('deps.t.status is used by statistics object t_stats; phase 3 could not drop it safely');
  });

  test("a user BEFORE row trigger that sorts after phasectl's sync trigger: a later name, or a refusal when none can be", async () => {
    await client.query(`CREATE SCHEMA order_; CREATE TABLE order_.t (id int PRIMARY KEY, v text);
      CREATE FUNCTION order_.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
      CREATE TRIGGER zzz_last BEFORE INSERT ON order_.t FOR EACH ROW EXECUTE FUNCTION order_.noop();`);
    expect(await planError(db.url, { schema: 'order_', table: 't', column: 'v' }, 'renamed')).toBeUndefined();
    const connection = await connect(db.url, { max: 1 });
    try {
      const table = { schema: 'order_', table: 't' };
      expect(await chooseSyncTriggerName(connection.db, table, 'order-v')).toBe('zzz_phasectl_sync_order_v');
      await client.query(
        `CREATE TRIGGER "{late}" BEFORE UPDATE ON order_.t FOR EACH ROW EXECUTE FUNCTION order_.noop();`,
      );
      const error = await chooseSyncTriggerName(connection.db, table, 'order-v').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(InputError);
      expect((error as InputError).message).toMatch(
        /order_\.t has BEFORE row trigger zzz_last, "\{late\}"; no sync trigger name can sort after all of them/,
      );
      expect((error as InputError).hint).toMatch(/RENAME TO/);
    } finally {
      await connection.close();
    }
  });

  test('a column in the column list of a publication (PostgreSQL 15+)', async (context) => {
    if (serverVersion < 150000) context.skip();
    await client.query(`CREATE SCHEMA pub; CREATE TABLE pub.t (id int PRIMARY KEY, v text, w text);
      CREATE PUBLICATION pub_cols FOR TABLE pub.t (id, v); CREATE PUBLICATION pub_all FOR TABLE pub.t;`);
    const error = await refusal('pub', 't', 'v');
    expect(error.message).toBe(
      'pub.t.v is in the column list of publication pub_cols; subscribers would never receive the new column',
    );
    // A publication without a column list replicates the new column too: w (not in any list) is fine.
    expect(await planError(db.url, { schema: 'pub', table: 't', column: 'w' }, 'w2')).toBeUndefined();
    await client.query('DROP PUBLICATION pub_cols; DROP PUBLICATION pub_all');
  });
});
