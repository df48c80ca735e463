import pg from 'pg';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { quoteLiteral } from '../../src/render/quote.js';
import { writesTableSql } from '../../src/sql/writer-roles.js';
import { createTestDatabase } from '../support/database.js';
import { createOwnerRole } from '../support/hardening-roles.js';

/**
 * The one definition of the roles that write a table (src/sql/writer-roles.ts), which the rename's conversion check
 * and the move guard share: a role counts when its INSERT, or its UPDATE of the watched column, fires the table's
 * triggers as itself, directly or through another owner's view or rule; not when its writes cannot reach the column
 * or PostgreSQL checks the table's rights as the role itself (a security_invoker view).
 */
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let admin: pg.Client;
const roles: Awaited<ReturnType<typeof createOwnerRole>>[] = [];
const names: Record<string, string> = {};

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  for (const key of [
    'owner',
    'inserts',
    'updatesColumn',
    'updatesOther',
    'viewInsert',
    'viewUpdateNaming',
    'viewUpdateOther',
    'viewOverView',
    'invoker',
    'definerOverInvoker',
    'rule',
    'nothing',
  ]) {
    const role = await createOwnerRole(db.url, db.name);
    roles.push(role);
    names[key] = role.name;
  }
  const ident = (key: string) => `"${names[key]}"`;
  const [version] = (await admin.query<{ num: number }>(`SELECT current_setting('server_version_num')::int AS num`))
    .rows;
  const invoker = version!.num >= 150000;
  await admin.query(
    `
    CREATE TABLE public.t (id bigint PRIMARY KEY, watched text, other text);
    GRANT SELECT, INSERT, UPDATE ON public.t TO ${ident('owner')};
    GRANT INSERT (id) ON public.t TO ${ident('inserts')};
    GRANT UPDATE (watched) ON public.t TO ${ident('updatesColumn')};
    GRANT UPDATE (other) ON public.t TO ${ident('updatesOther')};
    CREATE VIEW public.v_named AS SELECT id, watched FROM public.t;
    CREATE VIEW public.v_other AS SELECT id, other FROM public.t;
    CREATE VIEW public.v_over AS SELECT id FROM public.v_named;
    CREATE TABLE public.r (id bigint, watched text);
    CREATE RULE r_to_t AS ON UPDATE TO public.r DO INSTEAD INSERT INTO public.t (id) VALUES (NEW.id);
    ALTER VIEW public.v_named OWNER TO ${ident('owner')};
    ALTER VIEW public.v_other OWNER TO ${ident('owner')};
    ALTER VIEW public.v_over OWNER TO ${ident('owner')};
    ALTER TABLE public.r OWNER TO ${ident('owner')};
    GRANT INSERT ON public.v_other TO ${ident('viewInsert')};
    GRANT UPDATE ON public.v_named TO ${ident('viewUpdateNaming')};
    GRANT UPDATE ON public.v_other TO ${ident('viewUpdateOther')};
    GRANT UPDATE ON public.v_over TO ${ident('viewOverView')};
    GRANT UPDATE ON public.r TO ${ident('rule')};
    GRANT SELECT ON public.t, public.v_named TO ${ident('nothing')};
    GRANT SELECT ON public.v_named, public.v_other, public.v_over
       TO ${ident('viewUpdateNaming')}, ${ident('viewUpdateOther')}, ${ident('viewOverView')};` +
      (invoker
        ? `CREATE VIEW public.v_invoker WITH (security_invoker = true) AS SELECT id, watched FROM public.t;
         CREATE VIEW public.v_definer AS SELECT id, watched FROM public.v_invoker;
         ALTER VIEW public.v_definer OWNER TO ${ident('owner')};
         GRANT SELECT, INSERT, UPDATE ON public.v_invoker TO ${ident('invoker')}, ${ident('owner')};
         GRANT SELECT, INSERT, UPDATE ON public.v_definer TO ${ident('definerOverInvoker')};`
        : ''),
  );
});

afterAll(async () => {
  await admin?.end();
  await db?.drop();
  for (const role of roles) await role.drop().catch(() => undefined);
});

async function writers(): Promise<string[]> {
  const sql = `SELECT r.rolname FROM pg_catalog.pg_roles AS r
                WHERE r.rolname = ANY ($1) AND ${writesTableSql('r.oid', `'public.t'::pg_catalog.regclass`, [quoteLiteral('watched')])}`;
  const { rows } = await admin.query<{ rolname: string }>(sql, [Object.values(names)]);
  const byName = new Map(Object.entries(names).map(([key, name]) => [name, key]));
  return rows.map((row) => byName.get(row.rolname)!).sort();
}

test('who writes public.t so that a BEFORE INSERT OR UPDATE OF watched trigger fires as them', async () => {
  expect(await writers()).toEqual(
    ['inserts', 'owner', 'rule', 'updatesColumn', 'viewInsert', 'viewOverView', 'viewUpdateNaming'].sort(),
  );
});

test('the facts behind it: through a view, the trigger runs as the role writing; an update through a view that does not name the column does not fire it', async () => {
  await admin.query(`
    CREATE TABLE public.log (who name, op text);
    CREATE FUNCTION public.log_writer() RETURNS trigger LANGUAGE plpgsql AS $f$
      BEGIN INSERT INTO public.log VALUES (current_user, TG_OP); RETURN NEW; END $f$;
    GRANT INSERT ON public.log TO PUBLIC;
    CREATE TRIGGER watch BEFORE INSERT OR UPDATE OF watched ON public.t FOR EACH ROW EXECUTE FUNCTION public.log_writer();
    INSERT INTO public.t VALUES (1, 'a', 'b');
    INSERT INTO public.r VALUES (5, 'c');`);
  const as = async (key: string, sql: string) => {
    const client = new pg.Client({ connectionString: roles.find((role) => role.name === names[key])!.url });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await as('viewInsert', `INSERT INTO public.v_other (id) VALUES (2)`);
  await as('viewUpdateNaming', `UPDATE public.v_named SET watched = 'x' WHERE id = 1`);
  await as('viewUpdateOther', `UPDATE public.v_other SET other = 'y', id = 3 WHERE id = 1`);
  await as('viewOverView', `UPDATE public.v_over SET id = 4 WHERE id = 3`);
  await as('rule', `UPDATE public.r SET id = 5`);
  const { rows } = await admin.query<{ who: string; op: string }>(
    `SELECT who, op FROM public.log WHERE who = ANY ($1)`,
    [Object.values(names)],
  );
  const byName = new Map(Object.entries(names).map(([key, name]) => [name, key]));
  expect(rows.map((row) => `${byName.get(row.who)} ${row.op}`)).toEqual([
    'viewInsert INSERT',
    'viewUpdateNaming UPDATE',
    'rule INSERT',
  ]);
});
