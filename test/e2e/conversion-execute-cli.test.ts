import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { quoteIdent } from '../../src/render/quote.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, roleIn } from '../support/test-project.js';

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
  expect(refused.stderr).toContain(`GRANT EXECUTE ON FUNCTION conv.to_int(text) TO ${app.name}`);
  expect(refused.stderr).toContain(`GRANT USAGE ON SCHEMA conv TO ${app.name}`);
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
