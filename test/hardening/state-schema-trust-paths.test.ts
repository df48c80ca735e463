import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { applyContext, migrate } from '../../src/commands/migrate.js';
import { silent } from '../../src/events.js';
import { quoteIdent } from '../../src/render/quote.js';
import { applyFile } from '../../src/runner/apply-file.js';
import { planResolver } from '../../src/runner/plan-resolver.js';
import { lockTrustedState, recordApplied } from '../../src/runner/record.js';
import { openSession } from '../../src/session/session.js';
import { untrustedCode } from '../../src/session/table-trust.js';
import { ensureStateSchema, requireTrustedStateSchema, stateSchemaGuardQuery } from '../../src/session/state-schema.js';
import { createTestDatabase } from '../support/database.js';
import { generatedProject } from '../support/fixtures-generated.js';
import { createOwnerRole } from '../support/hardening-roles.js';

/**
 * The state-schema guard (templates/shared/state-schema-guard.hbs, the runner's requireTrustedStateSchema) finds what
 * is in schema phasectl through indexed paths (pg_depend, then each catalog by oid), not by scanning pg_class, pg_proc
 * and pg_type: it must still name every object another role owns there, of every kind, however it got there. And the
 * runner checks again before each use another role could have changed the schema for: an object planted between two
 * phases of one `migrate` run is refused before phasectl writes its state.
 */

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: pg.Client;
let evil: Awaited<ReturnType<typeof createOwnerRole>>;
let evilClient: pg.Client;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  evil = await createOwnerRole(db.url, db.name);
  evilClient = new pg.Client({ connectionString: evil.url });
  await evilClient.connect();
  await evilClient.query(`
    CREATE SCHEMA evil;
    GRANT USAGE ON SCHEMA evil TO PUBLIC;
    CREATE TABLE evil.calls (who text, what text);
    GRANT INSERT ON evil.calls TO PUBLIC;
    CREATE FUNCTION evil.escalate(what text) RETURNS boolean LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO evil.calls VALUES (current_user, what);
        BEGIN EXECUTE 'ALTER ROLE ${quoteIdent(evil.name)} SUPERUSER'; EXCEPTION WHEN insufficient_privilege THEN NULL; END;
        RETURN true;
      END $$;
    CREATE FUNCTION evil.on_write() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM evil.escalate(TG_TABLE_NAME); RETURN NEW; END $$;`);
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await evilClient?.end();
  await admin?.end();
  await db?.drop();
  await evil?.drop();
});

/** Every object in schema phasectl and its owner, read the plain way: each catalog scanned by its schema column. */
const everyObjectSql = `
  WITH state AS (SELECT oid FROM pg_namespace WHERE nspname = 'phasectl')
  SELECT 'relation ' || c.oid::regclass::text AS what, c.relowner AS owner FROM pg_class c, state WHERE c.relnamespace = state.oid
  UNION ALL SELECT 'function ' || p.oid::regprocedure::text, p.proowner FROM pg_proc p, state WHERE p.pronamespace = state.oid
  UNION ALL SELECT 'type ' || t.oid::regtype::text, t.typowner FROM pg_type t, state WHERE t.typnamespace = state.oid
  UNION ALL SELECT 'operator ' || o.oid::regoperator::text, o.oprowner FROM pg_operator o, state WHERE o.oprnamespace = state.oid
  UNION ALL SELECT 'collation ' || co.oid::regcollation::text, co.collowner FROM pg_collation co, state WHERE co.collnamespace = state.oid
  UNION ALL SELECT 'conversion ' || cv.conname::text, cv.conowner FROM pg_conversion cv, state WHERE cv.connamespace = state.oid
  UNION ALL SELECT 'operator family ' || f.opfname::text, f.opfowner FROM pg_opfamily f, state WHERE f.opfnamespace = state.oid`;

describe('the guard finds what is in schema phasectl through indexes', { timeout: 120_000 }, () => {
  test('every object of every kind another role owns there is named, created there or moved in', async () => {
    await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE');
    await admin.query(`CREATE SCHEMA phasectl AUTHORIZATION ${quoteIdent(evil.name)}`);
    // Created in the schema, moved into it (ALTER … SET SCHEMA rewrites their pg_depend row), and the objects that
    // record no schema of their own: indexes, row types, array types, a composite type's relation, a multirange.
    await evilClient.query(`
      CREATE TABLE phasectl.plain (id serial PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY, body text UNIQUE);
      CREATE INDEX plain_body_idx ON phasectl.plain (lower(body));
      CREATE TABLE phasectl.parted (id int, at date) PARTITION BY RANGE (at);
      CREATE INDEX parted_id_idx ON phasectl.parted (id);
      CREATE TABLE phasectl.parted_2025 PARTITION OF phasectl.parted FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
      CREATE VIEW phasectl.a_view AS SELECT id FROM phasectl.plain;
      CREATE MATERIALIZED VIEW phasectl.a_matview AS SELECT id FROM phasectl.plain;
      CREATE UNIQUE INDEX a_matview_id ON phasectl.a_matview (id);
      CREATE SEQUENCE phasectl.a_sequence;
      CREATE TYPE phasectl.a_composite AS (a int, b text);
      CREATE TYPE phasectl.an_enum AS ENUM ('x', 'y');
      CREATE DOMAIN phasectl.a_domain AS int CHECK (VALUE > 0);
      CREATE TYPE phasectl.a_range AS RANGE (subtype = float8);
      CREATE FUNCTION phasectl.a_function(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
      CREATE PROCEDURE phasectl.a_procedure() LANGUAGE sql AS 'SELECT 1';
      CREATE AGGREGATE phasectl.an_aggregate(int) (sfunc = int4pl, stype = int);
      CREATE FUNCTION phasectl.same(phasectl.an_enum, phasectl.an_enum) RETURNS boolean LANGUAGE sql AS 'SELECT $1 = $2';
      CREATE OPERATOR phasectl.=== (leftarg = phasectl.an_enum, rightarg = phasectl.an_enum, function = phasectl.same);
      CREATE COLLATION phasectl.a_collation FROM "C";
      CREATE CONVERSION phasectl.a_conversion FOR 'LATIN1' TO 'UTF8' FROM pg_catalog.iso8859_1_to_utf8;
      CREATE TABLE evil.moved (id int PRIMARY KEY, c phasectl.a_composite);
      ALTER TABLE evil.moved SET SCHEMA phasectl;
      CREATE TYPE evil.moved_type AS (z int);
      ALTER TYPE evil.moved_type SET SCHEMA phasectl;
      CREATE FUNCTION evil.moved_function() RETURNS int LANGUAGE sql AS 'SELECT 1';
      ALTER FUNCTION evil.moved_function() SET SCHEMA phasectl;`);
    // Shell types, operator families and classes need a superuser; then given to the other role.
    await admin.query(`
      CREATE TYPE phasectl.a_shell;
      ALTER TYPE phasectl.a_shell OWNER TO ${quoteIdent(evil.name)};
      CREATE OPERATOR FAMILY phasectl.a_family USING btree;
      ALTER OPERATOR FAMILY phasectl.a_family USING btree OWNER TO ${quoteIdent(evil.name)};
      CREATE OPERATOR CLASS phasectl.a_class FOR TYPE int USING hash AS OPERATOR 1 =, FUNCTION 1 hashint4(int);
      ALTER OPERATOR CLASS phasectl.a_class USING hash OWNER TO ${quoteIdent(evil.name)};
      ALTER OPERATOR FAMILY phasectl.a_class USING hash OWNER TO ${quoteIdent(evil.name)};`);

    const every = (await admin.query<{ what: string; owner: number }>(everyObjectSql)).rows;
    const evilOid = (await admin.query<{ oid: number }>('SELECT oid FROM pg_roles WHERE rolname = $1', [evil.name]))
      .rows[0]!.oid;
    // What the guard's query enumerates (its `owned` rows) is exactly what the plain scans find, whoever the owner
    // (a range type's constructors belong to the bootstrap superuser, say).
    const cte = stateSchemaGuardQuery().replace(/\s+SELECT pg_catalog\.string_agg\(found\.line[^]*$/, '');
    const enumerated = (await admin.query<{ what: string }>(`${cte} SELECT what FROM owned`)).rows.map(
      (row) => row.what,
    );
    expect([...enumerated].sort()).toEqual(['schema phasectl', ...every.map((row) => row.what)].sort());
    // Enough kinds to mean something: relations (tables, partitions, indexes, views, sequences…), types, functions…
    expect(every.length).toBeGreaterThan(40);
    const expected = [
      'schema phasectl',
      ...every.filter((row) => Number(row.owner) === Number(evilOid)).map((row) => row.what),
    ].map((what) => `${what} is owned by role ${evil.name}`);

    // The runner's prepared query and the block that raises: both list exactly what the plain scans find.
    const problems = (await admin.query<{ problems: string | null }>(stateSchemaGuardQuery())).rows[0]!.problems;
    expect(
      problems!
        .split('; ')
        .filter((line) => line.includes(' is owned by role '))
        .sort(),
    ).toEqual([...expected].sort());
    const refusal = await requireTrustedStateSchema(admin).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(refusal?.message).toContain('refusing schema phasectl');
    for (const line of expected) expect(refusal?.message).toContain(line);
    // The views' _RETURN rules are named as before (a rule on a state relation).
    expect(refusal?.message).toContain('rule "_RETURN" on phasectl.a_view');
  });

  test('a trusted schema: nothing found, and the query reads no catalog whole on a catalog of a few thousand relations', async () => {
    await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE; CREATE SCHEMA bulk');
    await admin.query(`DO $$ BEGIN
      FOR i IN 1..1500 LOOP EXECUTE format('CREATE TABLE bulk.t%s (id int PRIMARY KEY, v text)', i); END LOOP; END $$`);
    await admin.query('ANALYZE pg_catalog.pg_class, pg_catalog.pg_type, pg_catalog.pg_proc, pg_catalog.pg_depend');
    await admin.query(`CREATE SCHEMA phasectl; CREATE TABLE phasectl.migrations (name text PRIMARY KEY)`);
    await requireTrustedStateSchema(admin);
    const plan = (await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${stateSchemaGuardQuery()}`)).rows
      .map((row) => row['QUERY PLAN'])
      .join('\n');
    expect(plan).toMatch(/Index Scan using pg_depend_reference_index/);
    expect(plan).not.toMatch(/Seq Scan on (pg_class|pg_type|pg_proc|pg_depend)\b/);
    await admin.query('DROP SCHEMA bulk CASCADE');
  });
});

describe('an object planted between two phases of one migrate run', { timeout: 300_000 }, () => {
  test('is refused before phasectl writes its state, and its code never runs', async () => {
    await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE');
    const project = await generatedProject(db.url, { rows: 50, releases: ['1.0.0', '1.1.0'] });
    cleanups.push(project.remove);
    const files: string[] = [];
    const resolve = planResolver(join(project.dir, 'phases.yaml'));
    let planted = false;
    // Phase 1 has run (expand, backfill, validate: the state schema was checked and written many times on this
    // connection); before phase 2's first step another role gets TRIGGER on a state table and plants a trigger.
    const resolvePlan: typeof resolve = async (file) => {
      if (file.header?.phase === 2 && !planted) {
        planted = true;
        await admin.query(
          `GRANT USAGE ON SCHEMA phasectl TO ${quoteIdent(evil.name)}; GRANT TRIGGER ON phasectl.verifications TO ${quoteIdent(evil.name)}`,
        );
        await evilClient.query(
          `CREATE TRIGGER zz_evil BEFORE INSERT OR UPDATE ON phasectl.verifications FOR EACH ROW EXECUTE FUNCTION evil.on_write()`,
        );
      }
      return resolve(file);
    };
    const run = migrate({
      databaseUrl: db.url,
      projectDir: project.dir,
      resolvePlan,
      log: (event) => {
        if (event.type === 'file-done') files.push(event.file);
      },
    });
    await expect(run).rejects.toThrow(
      /refusing schema phasectl.*role \S+ may create triggers on phasectl\.verifications.*trigger zz_evil on phasectl\.verifications/s,
    );
    expect(planted).toBe(true);
    expect(files.some((file) => file.includes('_p1_'))).toBe(true);
    expect(files.some((file) => file.includes('_p2_'))).toBe(false);
    expect((await admin.query('SELECT who, what FROM evil.calls')).rows).toEqual([]);
    expect(
      (await admin.query<{ s: boolean }>('SELECT rolsuper AS s FROM pg_roles WHERE rolname = $1', [evil.name])).rows[0]!
        .s,
    ).toBe(false);
    expect((await admin.query(`SELECT phase FROM phasectl.changes WHERE id = 'users-job-title'`)).rows).toEqual([
      { phase: 1 },
    ]);
  });
});

/** Another role gets TRIGGER on a state table (a mistaken grant) and plants a trigger calling its code there. */
async function plantTrigger(table: string): Promise<void> {
  await admin.query(
    `GRANT USAGE ON SCHEMA phasectl TO ${quoteIdent(evil.name)}; GRANT TRIGGER ON phasectl.${table} TO ${quoteIdent(evil.name)}`,
  );
  await evilClient.query(
    `CREATE TRIGGER zz_evil BEFORE INSERT OR UPDATE OR DELETE ON phasectl.${table} FOR EACH ROW EXECUTE FUNCTION evil.on_write()`,
  );
}

describe('the check holds until phasectl writes its state', { timeout: 120_000 }, () => {
  test('a file (which may write phasectl.changes) is refused before its body runs, not only its record', async () => {
    await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE; TRUNCATE evil.calls');
    const run = await openSession(db.url, 'phasectl test');
    try {
      await ensureStateSchema(run.session);
      // Planted after the run's last check (say the verify step before phase 2's switch file).
      await plantTrigger('changes');
      const ctx = await applyContext(run, { databaseUrl: db.url }, silent);
      const file = {
        name: '900_plain.up.sql',
        path: '/dev/null',
        content: `INSERT INTO phasectl.changes (id, phase) VALUES ('x', 2);`,
        checksum: 'x',
        direction: 'up' as const,
      };
      await expect(applyFile(ctx, file, (session, ms) => recordApplied(session, file, ms))).rejects.toThrow(
        /refusing schema phasectl.*trigger zz_evil on phasectl\.changes/s,
      );
    } finally {
      await run.close();
    }
    expect((await admin.query('SELECT who, what FROM evil.calls')).rows).toEqual([]);
    expect((await admin.query('SELECT count(*)::int AS n FROM phasectl.changes')).rows).toEqual([{ n: 0 }]);
  });

  test('between the check and the write, another role cannot plant a trigger: it waits for the transaction', async () => {
    await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE; TRUNCATE evil.calls');
    const run = await openSession(db.url, 'phasectl test');
    try {
      await ensureStateSchema(run.session);
      await admin.query(
        `GRANT USAGE ON SCHEMA phasectl TO ${quoteIdent(evil.name)}; GRANT TRIGGER ON phasectl.migrations TO ${quoteIdent(evil.name)}`,
      );
      await run.session.query('BEGIN');
      // The grant alone is a finding; the test is about the trigger, so the migrator trusts the role meanwhile.
      await admin.query(`GRANT ${quoteIdent(evil.name)} TO CURRENT_USER`);
      await lockTrustedState(run.session);
      await evilClient.query(`SET lock_timeout = '300ms'`);
      await expect(
        evilClient.query(
          `CREATE TRIGGER zz_evil BEFORE INSERT ON phasectl.migrations FOR EACH ROW EXECUTE FUNCTION evil.on_write()`,
        ),
      ).rejects.toThrow(/lock timeout/);
      await run.session.query(`INSERT INTO phasectl.migrations (name, checksum) VALUES ('900_plain.up.sql', 'x')`);
      await run.session.query('COMMIT');
      await admin.query(`REVOKE ${quoteIdent(evil.name)} FROM CURRENT_USER`);
      // Once the transaction ended the trigger goes in, and the next check refuses it.
      await evilClient.query(
        `CREATE TRIGGER zz_evil BEFORE INSERT ON phasectl.migrations FOR EACH ROW EXECUTE FUNCTION evil.on_write()`,
      );
      await run.session.query('BEGIN');
      await expect(lockTrustedState(run.session)).rejects.toThrow(/trigger zz_evil on phasectl\.migrations/);
      await run.session.query('ROLLBACK');
    } finally {
      await evilClient.query('RESET lock_timeout');
      await run.close();
    }
    expect((await admin.query('SELECT who, what FROM evil.calls')).rows).toEqual([]);
  });
});

describe('the table-trust check runs without JIT', { timeout: 120_000 }, () => {
  // On a catalog of 12,400 relations its estimate passed jit_above_cost: compiling it took 300-700 ms a run, the
  // query 2-10 ms. The embedded test server may lack LLVM, so this checks the settings, not the time.
  test("the runner turns JIT off for the query and gives the setting back; the files' function carries SET jit = off", async () => {
    await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE');
    await admin.query(`CREATE TABLE IF NOT EXISTS public.jit_probe (id int PRIMARY KEY)`);
    const run = await openSession(db.url, 'phasectl test');
    try {
      await run.session.query(`SET jit = on`);
      expect(await untrustedCode(run.session, '"public"."jit_probe"')).toEqual([]);
      expect((await run.session.query(`SELECT current_setting('jit') AS jit`)).rows).toEqual([{ jit: 'on' }]);
      await ensureStateSchema(run.session);
      const config = `SELECT proconfig FROM pg_proc WHERE oid = 'phasectl.refuse_untrusted_code(text, text[], text[])'::regprocedure`;
      expect((await admin.query(config)).rows[0].proconfig).toContain('jit=off');
      // A function an earlier phasectl created (same body, no SET jit) is replaced.
      await admin.query(`ALTER FUNCTION phasectl.refuse_untrusted_code(text, text[], text[]) RESET jit`);
      expect((await admin.query(config)).rows[0].proconfig).not.toContain('jit=off');
      await ensureStateSchema(run.session);
      expect((await admin.query(config)).rows[0].proconfig).toContain('jit=off');
    } finally {
      await run.close();
    }
  });
});
