import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { quoteIdent } from '../../src/render/quote.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn, roleIn } from '../support/test-project.js';

/**
 * The sync functions are SECURITY INVOKER: a type change's --up/--down run with the rights of the role writing the
 * table. A conversion function that an application role may not EXECUTE (revoked from PUBLIC), or whose schema it may
 * not use, would make every insert of that role fail from phase 1 on ("permission denied for function"): plan refuses
 * it, naming the GRANT, and writes nothing.
 */
const cleanups = cleanupsAfterAll();

const TABLE = `CREATE TABLE public.t (id bigint PRIMARY KEY, v text NOT NULL);
  INSERT INTO public.t SELECT g, g::text FROM generate_series(1, 50) g;
  CREATE SCHEMA conv;
  CREATE FUNCTION conv.to_int(text) RETURNS integer LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT $1::integer $f$;
  REVOKE EXECUTE ON FUNCTION conv.to_int(text) FROM PUBLIC;`;

test('a conversion function the writing role may not execute (or whose schema it may not use) is refused at plan', async () => {
  const project = await databaseWithFolder(cleanups, TABLE, 'phasectl-conversion-execute-');
  const { url, run, ok } = project;
  const app = await roleIn(cleanups, url);
  const appIdent = quoteIdent(app.name);
  await query(url, `GRANT SELECT, INSERT, UPDATE ON public.t TO ${appIdent}`);
  await ok('init');
  const args = ['plan', 'rename', 't.v', 'vi', '--type', 'integer', '--up', 'conv.to_int(v)', '--down', 'vi::text'];

  const refused = await run(...args);
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(
    `role ${app.name} writes "public"."t" but has no USAGE on schema conv of function conv.to_int(text)`,
  );
  expect(refused.stderr).toContain(`but may not execute function conv.to_int(text), which the up expression`);
  expect(refused.stderr).toContain(`\n    GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${app.name};\n`);
  expect(refused.stderr).toContain(`\n    GRANT USAGE ON SCHEMA conv TO ${app.name};\n`);
  expect(await readFile(join(project.dir, 'phases.yaml'), 'utf8')).not.toContain('to_int');

  // Granted: plan passes, and after phase 1 the role's writes convert.
  await query(
    url,
    `GRANT USAGE ON SCHEMA conv TO ${appIdent}; GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${appIdent}`,
  );
  await ok(...args);
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  await query(app.url, `INSERT INTO public.t (id, v) VALUES (100, '7')`);
  expect(await query(url, `SELECT vi FROM public.t WHERE id = 100`)).toEqual([{ vi: 7 }]);
});

test('a role that writes the table only through another owner view runs the conversion too: refused if (and only if) its writes would fail', async () => {
  // v has a DEFAULT: an insert that does not name it converts the default. (A view that shows v would have its type
  // changed by the type change: plan refuses those, so a view's writers here insert, or update other columns.)
  const table = TABLE.replace('v text NOT NULL', `v text NOT NULL DEFAULT '0'`);
  const project = await databaseWithFolder(cleanups, table, 'phasectl-conversion-execute-view-');
  const { url, run, ok } = project;
  const [owner, writer, updater] = [
    await roleIn(cleanups, url),
    await roleIn(cleanups, url),
    await roleIn(cleanups, url),
  ];
  const [ownerIdent, writerIdent, updaterIdent] = [owner, writer, updater].map((role) => quoteIdent(role.name));
  // PostgreSQL checks t's privileges as the view's owner, but the sync trigger (SECURITY INVOKER) runs as the role
  // writing through the view, which then needs EXECUTE on the conversion itself. A view that does not name v cannot
  // update it: a role that only updates through such a view never fires the trigger, and needs nothing.
  const viewGrants = `GRANT SELECT, INSERT, UPDATE ON public.t_ids TO ${writerIdent}`;
  await query(
    url,
    `GRANT SELECT, INSERT, UPDATE ON public.t TO ${ownerIdent};
     GRANT USAGE ON SCHEMA conv TO ${ownerIdent}, ${writerIdent}, ${updaterIdent};
     GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${ownerIdent};
     CREATE VIEW public.t_ids AS SELECT id FROM public.t;
     ALTER VIEW public.t_ids OWNER TO ${ownerIdent};
     GRANT SELECT, UPDATE ON public.t_ids TO ${updaterIdent};
     ${viewGrants}`,
  );
  await ok('init');
  const args = ['plan', 'rename', 't.v', 'vi', '--type', 'integer', '--up', 'conv.to_int(v)', '--down', 'vi::text'];

  const refused = await run(...args);
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(`role ${writer.name} writes "public"."t" but may not execute function conv.to_int`);
  expect(refused.stderr).toContain(`GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${writer.name}`);
  expect(refused.stderr).not.toContain(`role ${owner.name}`);
  expect(refused.stderr).not.toContain(`role ${updater.name}`);

  // Without the check (the view's grants given only after plan), phase 1 goes in and the writer's inserts through
  // the view fail; the role that updates through the view goes on.
  await query(url, `REVOKE ALL ON public.t_ids FROM ${writerIdent}`);
  await ok(...args);
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  await query(url, viewGrants);
  await expect(query(writer.url, `INSERT INTO public.t_ids (id) VALUES (100)`)).rejects.toThrow(
    /permission denied for function to_int/,
  );
  await query(updater.url, `UPDATE public.t_ids SET id = 1000 WHERE id = 2`);
  expect(await query(url, `SELECT v, vi FROM public.t WHERE id = 1000`)).toEqual([{ v: '2', vi: 2 }]);

  // Granted as the refusal said: the inserts through the view convert.
  await query(url, `GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${writerIdent}`);
  await query(writer.url, `INSERT INTO public.t_ids (id) VALUES (100)`);
  expect(await query(url, `SELECT v, vi FROM public.t WHERE id = 100`)).toEqual([{ v: '0', vi: 0 }]);
});

test('EXECUTE revoked after plan: phase 1 applied by another runner (psql -1 -f) refuses before anything changes; so does migrate (exit 3), and the printed GRANTs let it through', async () => {
  const project = await databaseWithFolder(cleanups, TABLE, 'phasectl-conversion-execute-late-');
  const { url, run, ok } = project;
  const app = await roleIn(cleanups, url);
  const appIdent = quoteIdent(app.name);
  const grants = `GRANT USAGE ON SCHEMA conv TO ${appIdent}; GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${appIdent}`;
  await query(url, `GRANT SELECT, INSERT, UPDATE ON public.t TO ${appIdent}; ${grants}`);
  await ok('init');
  await ok('plan', 'rename', 't.v', 'vi', '--type', 'integer', '--up', 'conv.to_int(v)', '--down', 'vi::text');
  await ok('advance', '--release', '1.0.0');
  // Taken away after plan: from phase 1 on, every write of the role would fail ("permission denied for function").
  await query(url, `REVOKE EXECUTE ON FUNCTION conv.to_int(text) FROM ${appIdent}`);

  const migrations = join(project.dir, 'db', 'migrations');
  const expand = (await readdir(migrations)).find((name) => name.endsWith('_expand.up.sql'))!;
  const text = await readFile(join(migrations, expand), 'utf8');
  // What `psql -1 -f` does: the whole file in one transaction.
  await expect(query(url, `BEGIN;\n${text}\nCOMMIT;`)).rejects.toThrow(
    new RegExp(
      `^phasectl: the conversion of change \\S+ runs in the sync trigger .* role ${app.name} writes "public"."t" but may not execute function conv\\.to_int\\(text\\), which the up expression`,
    ),
  );
  expect(await hasColumn(url, 'public.t', 'vi')).toBe(false);

  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    `role ${app.name} writes "public"."t" but may not execute function conv.to_int(text)`,
  );
  expect(refused.stderr).toContain(`\n    GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${app.name};\n`);
  expect(refused.stderr).not.toContain('USAGE ON SCHEMA');
  expect(await hasColumn(url, 'public.t', 'vi')).toBe(false);
  const [state] = await query<{ guard: string }>(url, `SELECT guard FROM phasectl.guard_refusals`);
  expect(state?.guard).toBe('conversion-execute');

  // Granted as printed: phase 1 goes in, and the role's writes convert.
  await query(url, `GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${app.name};`);
  await ok('migrate', '--quiet');
  await query(app.url, `INSERT INTO public.t (id, v) VALUES (100, '7')`);
  expect(await query(url, `SELECT vi FROM public.t WHERE id = 100`)).toEqual([{ vi: 7 }]);
});

test('EXECUTE revoked after phase 3: its rollback, which re-creates the sync, refuses before it re-adds the old column (exit 3); granted, the role writes again', async () => {
  const project = await databaseWithFolder(cleanups, TABLE, 'phasectl-conversion-execute-restore-');
  const { url, run, ok } = project;
  const app = await roleIn(cleanups, url);
  const appIdent = quoteIdent(app.name);
  await query(
    url,
    `GRANT SELECT, INSERT, UPDATE ON public.t TO ${appIdent};
     GRANT USAGE ON SCHEMA conv TO ${appIdent}; GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${appIdent}`,
  );
  await ok('init');
  await ok('plan', 'rename', 't.v', 'vi', '--type', 'integer', '--up', 'conv.to_int(v)', '--down', 'vi::text');
  for (const release of ['1.0.0', '2.0.0', '3.0.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  // After phase 3 nothing runs the conversion: the grant can go unnoticed, until the rollback brings the sync back.
  await query(url, `REVOKE EXECUTE ON FUNCTION conv.to_int(text) FROM ${appIdent}`);
  const refused = await run('rollback', '--release', '3.0.0', '--yes', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('would fail once this rollback re-creates the sync');
  expect(refused.stderr).toContain(
    `role ${app.name} writes "public"."t" but may not execute function conv.to_int(text)`,
  );
  expect(refused.stderr).toContain(`\n    GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${app.name};\n`);
  expect(await hasColumn(url, 'public.t', 'v')).toBe(false);

  await query(url, `GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${app.name};`);
  await ok('rollback', '--release', '3.0.0', '--yes', '--quiet');
  await query(app.url, `INSERT INTO public.t (id, v) VALUES (100, '7')`);
  expect(await query(url, `SELECT vi FROM public.t WHERE id = 100`)).toEqual([{ vi: 7 }]);
});

test('a role that writes only a partition of a partitioned table fires the cloned sync trigger as itself: refused at plan too', async () => {
  const table = `CREATE TABLE public.t (id bigint PRIMARY KEY, v text NOT NULL) PARTITION BY RANGE (id);
    CREATE TABLE public.t_low PARTITION OF public.t FOR VALUES FROM (0) TO (1000);
    CREATE TABLE public.t_high PARTITION OF public.t FOR VALUES FROM (1000) TO (2000);
    INSERT INTO public.t SELECT g, g::text FROM generate_series(1, 50) g;
    CREATE SCHEMA conv;
    CREATE FUNCTION conv.to_int(text) RETURNS integer LANGUAGE sql IMMUTABLE STRICT AS $f$ SELECT $1::integer $f$;
    REVOKE EXECUTE ON FUNCTION conv.to_int(text) FROM PUBLIC;`;
  const { url, run, ok } = await databaseWithFolder(cleanups, table, 'phasectl-conversion-execute-partition-');
  const app = await roleIn(cleanups, url);
  await query(
    url,
    `GRANT USAGE ON SCHEMA conv TO ${quoteIdent(app.name)}; GRANT INSERT ON public.t_low TO ${quoteIdent(app.name)}`,
  );
  await ok('init');
  const args = ['plan', 'rename', 't.v', 'vi', '--type', 'integer', '--up', 'conv.to_int(v)', '--down', 'vi::text'];
  const refused = await run(...args);
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toContain(`\n    GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${app.name};\n`);

  await query(url, `GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${quoteIdent(app.name)}`);
  await ok(...args);
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  await query(app.url, `INSERT INTO public.t_low (id, v) VALUES (100, '7')`);
  expect(await query(url, `SELECT vi FROM public.t WHERE id = 100`)).toEqual([{ vi: 7 }]);
});
