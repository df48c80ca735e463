import { phasectl as runBuiltCli } from '../support/cli.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { connect } from '../../src/db/connect.js';
import { phaseSteps } from '../../src/operations/index.js';
import { quoteIdent } from '../../src/render/quote.js';
import { stateSchemaSql } from '../../src/session/state-schema.js';
import { applySteps } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';
import { generatedProject } from '../support/fixtures-generated.js';
import { plannedRename } from '../support/hardening-rename.js';
import { createOwnerRole } from '../support/hardening-roles.js';

/**
 * Another role with CREATE on the database pre-creates schema `phasectl` and its tables, with code that runs
 * when phasectl touches them (a trigger, a rule, a policy). phasectl — its runner and its generated SQL —
 * must refuse (exit 3, naming that role) before any of that code runs with the migrator's rights. And with
 * look-alike functions and operators planted in `public`, no session phasectl opens may call them.
 */

/** The built CLI (test/support/cli.ts), stdout and stderr together. */
async function phasectl(
  args: string[],
  options: { url: string; cwd?: string },
): Promise<{ code: number | null; output: string }> {
  const result = await runBuiltCli(args, { cwd: options.cwd ?? process.cwd(), env: { DATABASE_URL: options.url } });
  return { code: result.code, output: result.stdout + result.stderr };
}

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: pg.Client;
let evil: Awaited<ReturnType<typeof createOwnerRole>>;
let owner: Awaited<ReturnType<typeof createOwnerRole>>;
let evilClient: pg.Client;
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  evil = await createOwnerRole(db.url, db.name);
  owner = await createOwnerRole(db.url, db.name);
  evilClient = new pg.Client({ connectionString: evil.url });
  await evilClient.connect();
  // What the planted code does: note who ran it, and try to make its author superuser.
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
  await owner?.drop();
});

/** Evil's copy of phasectl's state schema, readable and writable by everyone. */
async function plantStateSchema(extra: string): Promise<void> {
  await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE; TRUNCATE evil.calls');
  await evilClient.query(`${stateSchemaSql}
    GRANT USAGE, CREATE ON SCHEMA phasectl TO PUBLIC;
    GRANT ALL ON ALL TABLES IN SCHEMA phasectl TO PUBLIC;
    GRANT ALL ON ALL SEQUENCES IN SCHEMA phasectl TO PUBLIC;
    ${extra}`);
}

async function evilIsSuperuser(): Promise<boolean> {
  return (await admin.query<{ s: boolean }>('SELECT rolsuper AS s FROM pg_roles WHERE rolname = $1', [evil.name]))
    .rows[0]!.s;
}
async function evilCalls(): Promise<unknown[]> {
  return (await admin.query('SELECT who, what FROM evil.calls')).rows;
}

const triggers = ['migrations', 'changes', 'backfills', 'verifications', 'history']
  .map(
    (table) =>
      `CREATE TRIGGER zz_evil BEFORE INSERT OR UPDATE OR DELETE ON phasectl.${table} FOR EACH ROW EXECUTE FUNCTION evil.on_write();`,
  )
  .join('\n');

// Each test runs the CLI several times (a fresh node + tsx each time): slow on a busy machine.
describe('a state schema planted by another role', { timeout: 300_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    const project = await generatedProject(db.url, { rows: 50, releases: ['1.0.0'] });
    cleanups.push(project.remove);
    dir = project.dir;
  });

  test('a trigger on phasectl.migrations: migrate (as a superuser) exits 3 naming the owner; the trigger never ran', async () => {
    await plantStateSchema(triggers);
    const result = await phasectl(['migrate', '--project', dir], { url: db.url });
    expect(result.code, result.output).toBe(3);
    expect(result.output).toContain(`schema phasectl is owned by role ${evil.name}`);
    expect(result.output).toMatch(/trigger zz_evil on phasectl\.migrations \(function evil\.on_write\(\)/);
    expect(await evilIsSuperuser()).toBe(false);
    expect(await evilCalls()).toEqual([]);
    // Nothing was applied: no new column, nothing recorded.
    expect(
      (
        await admin.query(
          `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = 'favourite_color'`,
        )
      ).rows,
    ).toEqual([{ n: 0 }]);
    expect((await admin.query('SELECT count(*)::int AS n FROM phasectl.migrations')).rows).toEqual([{ n: 0 }]);
  });

  test('status, backfill and verify refuse too, before reading the state', async () => {
    await plantStateSchema(`${triggers}
      ALTER TABLE phasectl.migrations ENABLE ROW LEVEL SECURITY;
      CREATE POLICY evil ON phasectl.migrations USING (evil.escalate('policy'));`);
    await admin.query(`ALTER TABLE public.users OWNER TO ${quoteIdent(owner.name)}`);
    for (const args of [
      ['status'],
      ['backfill', 'users-job-title'],
      ['verify', 'users-job-title'],
      ['migrate', '--dry-run'],
    ]) {
      const result = await phasectl([...args, '--project', dir], { url: owner.url });
      expect(result.code, `${args.join(' ')}: ${result.output}`).toBe(3);
      expect(result.output).toContain(`owned by role ${evil.name}`);
      expect(result.output).toContain('policy evil on phasectl.migrations');
    }
    expect(await evilCalls()).toEqual([]);
    await admin.query(`ALTER TABLE public.users OWNER TO CURRENT_USER`);
  });

  test('a rule on phasectl.migrations: refused, the rule never ran', async () => {
    await plantStateSchema(
      `CREATE RULE evil AS ON INSERT TO phasectl.migrations DO ALSO SELECT evil.escalate('rule');`,
    );
    const result = await phasectl(['migrate', '--project', dir], { url: db.url });
    expect(result.code, result.output).toBe(3);
    expect(result.output).toContain('rule evil on phasectl.migrations');
    expect(await evilIsSuperuser()).toBe(false);
    expect(await evilCalls()).toEqual([]);
  });

  test('a policy on a state table the migrator owns, and CREATE granted on the schema: refused', async () => {
    // The schema is the migrator's own, but another role may plant objects in it and a policy calls its code.
    await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE');
    await admin.query(`CREATE SCHEMA phasectl AUTHORIZATION ${quoteIdent(owner.name)}`);
    const ownerClient = new pg.Client({ connectionString: owner.url });
    await ownerClient.connect();
    try {
      await ownerClient.query(`${stateSchemaSql}
        GRANT CREATE ON SCHEMA phasectl TO ${quoteIdent(evil.name)};
        ALTER TABLE phasectl.changes ENABLE ROW LEVEL SECURITY;
        ALTER TABLE phasectl.changes FORCE ROW LEVEL SECURITY;
        CREATE POLICY evil ON phasectl.changes USING (evil.escalate('policy'));`);
    } finally {
      await ownerClient.end();
    }
    const result = await phasectl(['status', '--project', dir], { url: owner.url });
    expect(result.code, result.output).toBe(3);
    expect(result.output).not.toContain('is owned by');
    expect(result.output).toContain('policy evil on phasectl.changes');
    expect(result.output).toContain(`role ${evil.name} may create objects in schema phasectl`);
    expect(await evilCalls()).toEqual([]);
  });

  test('the generated expand file, applied by another runner, raises before the planted trigger runs', async () => {
    await plantStateSchema(triggers);
    await admin.query(
      `CREATE TABLE public.notes (id int PRIMARY KEY, body text); INSERT INTO public.notes VALUES (1, 'a')`,
    );
    const change = await plannedRename(
      db.url,
      { schema: 'public', table: 'notes', column: 'body' },
      'content',
      'notes-body',
    );
    const expand = phaseSteps(change, 1).up.filter((step) => step.name === 'expand');
    await expect(applySteps(admin, expand)).rejects.toThrow(
      new RegExp(`refusing schema phasectl.*schema phasectl is owned by role ${evil.name}`),
    );
    expect(await evilIsSuperuser()).toBe(false);
    expect(await evilCalls()).toEqual([]);
    expect(
      (
        await admin.query(
          `SELECT count(*)::int AS n FROM pg_attribute WHERE attrelid = 'public.notes'::regclass AND attname = 'content'`,
        )
      ).rows,
    ).toEqual([{ n: 0 }]);
  });

  test('a legitimate state schema still works: created by an administrator for the migration role, or by phasectl itself', async () => {
    await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE; DROP TABLE IF EXISTS public.notes');
    // As docs/privileges.md suggests: an administrator creates the schema for the migration role.
    await admin.query(
      `CREATE SCHEMA phasectl AUTHORIZATION ${quoteIdent(owner.name)}; ALTER TABLE public.users OWNER TO ${quoteIdent(owner.name)}`,
    );
    const result = await phasectl(['migrate', '--project', dir], { url: owner.url });
    expect(result.code, result.output).toBe(0);
    const status = await phasectl(['status', '--project', dir], { url: owner.url });
    expect(status.code, status.output).toBe(0);
    // A superuser is not a member of the migration role: from its point of view that role could be the attacker.
    const asSuperuser = await phasectl(['verify', 'users-job-title', '--project', dir], { url: db.url });
    expect(asSuperuser.code, asSuperuser.output).toBe(3);
    expect(asSuperuser.output).toContain(`schema phasectl is owned by role ${owner.name}`);
    // Once it is a member (it trusts that role), it may use the schema.
    await admin.query(`GRANT ${quoteIdent(owner.name)} TO CURRENT_USER`);
    const asMember = await phasectl(['verify', 'users-job-title', '--project', dir], { url: db.url });
    expect(asMember.code, asMember.output).toBe(0);
    expect(await evilCalls()).toEqual([]);
  });
});

describe('look-alike operators and functions planted in public', { timeout: 300_000 }, () => {
  test("every pooled connection runs with search_path = pg_catalog, pg_temp, over the role's setting and the URL's options", async () => {
    await admin.query(`ALTER ROLE ${quoteIdent(owner.name)} SET search_path = public, pg_catalog`);
    try {
      const url = new URL(owner.url);
      url.searchParams.set('options', '-c search_path=public -c work_mem=7MB');
      const connection = await connect(url.toString(), { max: 3 });
      try {
        const clients = await Promise.all([1, 2, 3].map(() => connection.pool.connect()));
        const settings = await Promise.all(
          clients.map(async (client) => (await client.query(`SELECT current_setting('search_path') AS path`)).rows[0]),
        );
        for (const client of clients) client.release();
        expect(settings).toEqual([
          { path: 'pg_catalog,pg_temp' },
          { path: 'pg_catalog,pg_temp' },
          { path: 'pg_catalog,pg_temp' },
        ]);
        // The URL's other options still apply.
        expect((await connection.pool.query(`SELECT current_setting('work_mem') AS mem`)).rows).toEqual([
          { mem: '7MB' },
        ]);
      } finally {
        await connection.close();
      }
    } finally {
      await admin.query(`ALTER ROLE ${quoteIdent(owner.name)} RESET search_path`);
    }
  });

  test('public.=(mood, mood) and public.unnest(int2[]) are never called by plan, migrate, backfill, verify or the sync trigger', async () => {
    // A fresh state: the tests above left another project's migrations recorded.
    await admin.query('DROP SCHEMA IF EXISTS phasectl CASCADE');
    await admin.query(`
      GRANT CREATE ON SCHEMA public TO ${quoteIdent(evil.name)};
      CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
      CREATE TABLE public.people (id int PRIMARY KEY, feeling public.mood NOT NULL DEFAULT 'ok');
      INSERT INTO public.people SELECT g, (ARRAY['sad', 'ok', 'happy']::public.mood[])[1 + g % 3] FROM generate_series(1, 300) g;`);
    // Both behave like the built-ins, so only the call log shows they ran.
    await evilClient.query(`
      TRUNCATE evil.calls;
      CREATE FUNCTION public.mood_eq(a public.mood, b public.mood) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO evil.calls VALUES (current_user, '='); RETURN a::text = b::text; END $$;
      CREATE OPERATOR public.= (LEFTARG = public.mood, RIGHTARG = public.mood, FUNCTION = public.mood_eq);
      CREATE FUNCTION public.unnest(a int2[]) RETURNS SETOF int2 LANGUAGE plpgsql AS $$
        BEGIN INSERT INTO evil.calls VALUES (current_user, 'unnest'); RETURN QUERY SELECT pg_catalog.unnest(a); END $$;`);
    // The trap is live for an ordinary session.
    expect(
      (
        await admin.query(
          `SELECT 'ok'::public.mood = 'ok'::public.mood AS eq, (SELECT count(*)::int FROM unnest('{1,2}'::int2[])) AS n`,
        )
      ).rows,
    ).toEqual([{ eq: true, n: 2 }]);
    await admin.query('TRUNCATE evil.calls');

    const dir = await mkdtemp(join(tmpdir(), 'phasectl-planted-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    for (const args of [
      ['init'],
      ['plan', 'rename', 'people.feeling', 'mood_now', '--id', 'people-feeling'],
      ['advance', '--release', '1.0.0'],
    ]) {
      const result = await phasectl(args, { url: db.url, cwd: dir });
      expect(result.code, `${args.join(' ')}: ${result.output}`).toBe(0);
    }
    expect(await evilCalls()).toEqual([]);
    for (const args of [['migrate'], ['backfill', 'people-feeling'], ['verify', 'people-feeling']]) {
      const result = await phasectl([...args, '--project', dir], { url: db.url });
      expect(result.code, `${args.join(' ')}: ${result.output}`).toBe(0);
    }
    expect(await evilCalls()).toEqual([]);
    // Application writes (an ordinary search_path) go through the sync trigger: its WHEN clause was bound to the built-in =.
    await admin.query(
      `UPDATE public.people SET feeling = 'happy' WHERE id = 1; UPDATE public.people SET mood_now = 'sad' WHERE id = 2`,
    );
    expect(await evilCalls()).toEqual([]);
    expect(
      (
        await admin.query(
          `SELECT count(*)::int AS n FROM public.people WHERE feeling::text IS DISTINCT FROM mood_now::text`,
        )
      ).rows,
    ).toEqual([{ n: 0 }]);
  });
});
