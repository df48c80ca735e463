import { randomBytes } from 'node:crypto';
import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { serverUrl } from '../support/database.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * Column privileges (`GRANT SELECT (job_title) ON …`), the column's comment and its settings (statistics target,
 * n_distinct, storage, compression) follow the rename: a role allowed only some columns of the
 * table keeps its rights on the new column in phase 2 (the new release writes it), after phase 3, and back on the
 * old column after phase 3's down. Grants on the whole table cover new columns by themselves.
 */
const cleanups = cleanupsAfterAll();

test('column privileges, comment, statistics target, options, storage and compression of the old column reach the new one, in phase 1, again in phase 3 (changed in flight), and come back with the down', async () => {
  const suffix = randomBytes(4).toString('hex');
  const reader = `reader_${suffix}`;
  const writer = `writer_${suffix}`;
  const late = `late_${suffix}`;
  // Pushed first, so it runs after the database is dropped (cleanups run in reverse).
  cleanups.push(async () => void (await query(serverUrl(), `DROP ROLE IF EXISTS ${reader}, ${writer}, ${late}`)));
  const { url, ok } = await databaseWithFolder(
    cleanups,
    `CREATE ROLE ${reader} NOLOGIN; CREATE ROLE ${writer} NOLOGIN; CREATE ROLE ${late} NOLOGIN;
     CREATE TABLE public.users (id bigint PRIMARY KEY, email text, job_title text NOT NULL DEFAULT 'unknown');
     INSERT INTO public.users SELECT g, 'u' || g, 'title ' || g FROM generate_series(1, 50) g;
     ALTER TABLE public.users ALTER COLUMN job_title SET STATISTICS 777, ALTER COLUMN job_title SET (n_distinct = -0.25),
       ALTER COLUMN job_title SET STORAGE EXTERNAL, ALTER COLUMN job_title SET COMPRESSION pglz;
     COMMENT ON COLUMN public.users.job_title IS 'what the person does; it''s free text';
     GRANT SELECT (id, job_title) ON public.users TO ${reader};
     GRANT SELECT (id), UPDATE (job_title) ON public.users TO ${writer} WITH GRANT OPTION;`,
    'phasectl-column-grants-',
  );
  const privileges = async (column: string) =>
    (
      await query<{ role: string; select: boolean; update: boolean; update_grant: boolean }>(
        url,
        `SELECT r AS role, has_column_privilege(r, 'public.users', $1, 'SELECT') AS select,
                has_column_privilege(r, 'public.users', $1, 'UPDATE') AS update,
                has_column_privilege(r, 'public.users', $1, 'UPDATE WITH GRANT OPTION') AS update_grant
           FROM unnest($2::text[]) AS r ORDER BY r`,
        [column, [late, reader, writer]],
      )
    ).map(
      (row) =>
        `${row.role.split('_')[0]}:${row.select ? 'S' : '-'}${row.update ? 'U' : '-'}${row.update_grant ? 'G' : '-'}`,
    );
  const comment = async (column: string) =>
    (
      await query<{ comment: string | null }>(
        url,
        `SELECT col_description('public.users'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = $1)) AS comment`,
        [column],
      )
    )[0]!.comment;
  // Statistics target, per-column options, storage, compression: what ADD COLUMN does not bring by itself.
  const settings = async (column: string) =>
    (
      await query<{ settings: string }>(
        url,
        `SELECT concat_ws(' ', attstattarget, attoptions::text, attstorage, attcompression) AS settings
           FROM pg_attribute WHERE attrelid = 'public.users'::regclass AND attname = $1`,
        [column],
      )
    )[0]!.settings;
  const asWriter = (sql: string) => query(url, `BEGIN; SET LOCAL ROLE ${writer}; ${sql}; COMMIT`);

  await ok('init');
  await ok('plan', 'rename', 'public.users.job_title', 'favourite_color', '--id', 'users-job-title');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  expect(await privileges('favourite_color')).toEqual(['late:---', 'reader:S--', 'writer:-UG']);
  expect(await comment('favourite_color')).toBe("what the person does; it's free text");
  expect(await settings('favourite_color')).toBe('777 {n_distinct=-0.25} e p');

  await ok('advance', '--release', '2.0.0');
  await ok('migrate', '--quiet');
  // The new release, under the writer's column privileges only, writes the new column; the trigger copies it back.
  await asWriter(`UPDATE public.users SET favourite_color = 'written by the new release' WHERE id = 7`);
  expect(await query(url, `SELECT job_title, favourite_color FROM public.users WHERE id = 7`)).toEqual([
    { job_title: 'written by the new release', favourite_color: 'written by the new release' },
  ]);

  // Granted on the old column, and its settings tuned, while the change is in flight: phase 3 carries them over
  // before the drop.
  await query(url, `GRANT SELECT (job_title) ON public.users TO ${late}`);
  await query(
    url,
    `ALTER TABLE public.users ALTER COLUMN job_title SET STATISTICS 555, ALTER COLUMN job_title SET (n_distinct = -0.5),
       ALTER COLUMN job_title SET STORAGE MAIN`,
  );
  await ok('advance', '--release', '3.0.0');
  await ok('migrate', '--quiet');
  expect(await privileges('favourite_color')).toEqual(['late:S--', 'reader:S--', 'writer:-UG']);
  expect(await settings('favourite_color')).toBe('555 {n_distinct=-0.5} m p');
  await asWriter(`UPDATE public.users SET favourite_color = 'after phase 3' WHERE id = 8`);

  await ok('rollback', '--release', '3.0.0', '--yes', '--quiet');
  expect(await privileges('job_title')).toEqual(['late:S--', 'reader:S--', 'writer:-UG']);
  expect(await comment('job_title')).toBe("what the person does; it's free text");
  expect(await settings('job_title')).toBe('555 {n_distinct=-0.5} m p');
  await asWriter(`UPDATE public.users SET job_title = 'old release again' WHERE id = 9`);
}, 180_000);
