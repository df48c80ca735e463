import { randomBytes } from 'node:crypto';
import { expect, test } from 'vitest';
import { client, query } from '../support/fixtures-project.js';
import { serverUrl } from '../support/database.js';
import { cleanupsAfterAll, databaseWithFolder } from '../support/test-project.js';

/**
 * Column privileges, the comment and the settings of the old column where a rename alone did not carry them: onto the
 * target table of a move, and onto the partitions of a partitioned table. A grant on a partitioned table does not
 * reach its partitions (PostgreSQL checks the table a query names), so a role reading a partition directly holds
 * grants of its own there: they must follow the column too.
 */
const cleanups = cleanupsAfterAll();

/** Role names unique to this run (`<name>_<hex>`), dropped after the file's databases. */
function roles<const N extends string[]>(...names: N): { [K in keyof N]: string } {
  const suffix = randomBytes(4).toString('hex');
  const roles = names.map((name) => `${name}_${suffix}`);
  cleanups.push(async () => void (await query(serverUrl(), `DROP ROLE IF EXISTS ${roles.join(', ')}`)));
  return roles as { [K in keyof N]: string };
}

/** `sql` run as `role` (one statement), its rows. */
async function as(url: string, role: string, sql: string): Promise<unknown[]> {
  const session = await client(url);
  try {
    await session.query(`SET ROLE ${role}`);
    return (await session.query(sql)).rows;
  } finally {
    await session.end();
  }
}

test('a move gives the target column the privileges, comment and settings of the source column (phase 1, again in phase 3); the down gives them back', async () => {
  const [reader, writer, late] = roles('reader', 'writer', 'late');
  const { url, ok } = await databaseWithFolder(
    cleanups,
    `CREATE ROLE ${reader} NOLOGIN; CREATE ROLE ${writer} NOLOGIN; CREATE ROLE ${late} NOLOGIN;
     CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
     CREATE TABLE public.profiles (id bigserial PRIMARY KEY, user_id bigint NOT NULL UNIQUE REFERENCES public.users (id));
     INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 20) g;
     INSERT INTO public.profiles (user_id) SELECT g FROM generate_series(1, 20) g;
     ALTER TABLE public.users ALTER COLUMN address SET STATISTICS 321, ALTER COLUMN address SET (n_distinct = -0.5);
     COMMENT ON COLUMN public.users.address IS 'where the parcel goes';
     GRANT SELECT (id, address) ON public.users TO ${reader};
     GRANT SELECT (user_id) ON public.profiles TO ${reader};
     GRANT SELECT (id, user_id) ON public.profiles TO ${writer};
     -- A writer of the moved column reads it too: the sync reads the paired row with the writer's rights.
     GRANT SELECT (id, address), UPDATE (address) ON public.users TO ${writer} WITH GRANT OPTION;`,
    'phasectl-move-grants-',
  );
  const carried = async (table: string) =>
    (
      await query<{ carried: string }>(
        url,
        `SELECT concat_ws(' ', has_column_privilege($2, $1, 'address', 'SELECT'),
                  has_column_privilege($3, $1, 'address', 'UPDATE WITH GRANT OPTION'),
                  has_column_privilege($4, $1, 'address', 'SELECT'),
                  col_description($1::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'address')),
                  (SELECT concat_ws(' ', attstattarget, attoptions::text) FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'address')) AS carried`,
        [table, reader, writer, late],
      )
    )[0]!.carried;

  await ok('init');
  await ok('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  expect(await carried('public.profiles')).toBe('t t f where the parcel goes 321 {n_distinct=-0.5}');
  expect(await as(url, reader, `SELECT address FROM public.profiles WHERE user_id = 3`)).toEqual([
    { address: 'street 3' },
  ]);

  await ok('advance', '--release', '2.0.0');
  await ok('migrate', '--quiet');
  await query(url, `GRANT SELECT (address) ON public.users TO ${late}`);
  await ok('advance', '--release', '3.0.0');
  await ok('migrate', '--quiet');
  expect(await carried('public.profiles')).toBe('t t t where the parcel goes 321 {n_distinct=-0.5}');
  await as(url, writer, `UPDATE public.profiles SET address = 'moved' WHERE user_id = 4`);

  await ok('rollback', '--release', '3.0.0', '--yes', '--quiet');
  expect(await carried('public.users')).toBe('t t t where the parcel goes 321 {n_distinct=-0.5}');
  expect(await as(url, reader, `SELECT address FROM public.users WHERE id = 4`)).toEqual([{ address: 'moved' }]);
}, 180_000);

test('column grants held on a partition itself follow the rename there (phase 1, partitions created in flight in phase 3, and the down)', async () => {
  const [reader] = roles('reader');
  const { url, ok } = await databaseWithFolder(
    cleanups,
    `CREATE ROLE ${reader} NOLOGIN;
     CREATE TABLE public.events (id bigint NOT NULL, job_title text, PRIMARY KEY (id)) PARTITION BY RANGE (id);
     CREATE TABLE public.events_1 PARTITION OF public.events FOR VALUES FROM (0) TO (100);
     CREATE TABLE public.events_2 PARTITION OF public.events FOR VALUES FROM (100) TO (200);
     INSERT INTO public.events SELECT g, 'title ' || g FROM generate_series(1, 150) g;
     GRANT SELECT (id, job_title) ON public.events TO ${reader};
     GRANT SELECT (id, job_title) ON public.events_1 TO ${reader};`,
    'phasectl-partition-grants-',
  );
  const reads = async (table: string, column: string) =>
    (
      await query<{ ok: boolean }>(url, `SELECT has_column_privilege($1, $2, $3, 'SELECT') AS ok`, [
        reader,
        table,
        column,
      ])
    )[0]!.ok;

  await ok('init');
  await ok('plan', 'rename', 'public.events.job_title', 'favourite_color', '--id', 'events-job-title');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  // PostgreSQL does not carry a grant on the parent to the partitions: the partition's own grant is what counts.
  expect(await reads('public.events_2', 'job_title')).toBe(false);
  expect(await reads('public.events_1', 'favourite_color')).toBe(true);
  expect(await reads('public.events', 'favourite_color')).toBe(true);

  // A partition created in flight, granted like the others by the team's job: phase 3 carries it before the drop.
  await query(
    url,
    `CREATE TABLE public.events_3 PARTITION OF public.events FOR VALUES FROM (200) TO (300);
     INSERT INTO public.events (id, job_title) VALUES (250, 'late partition');
     GRANT SELECT (id, job_title) ON public.events_3 TO ${reader};`,
  );
  await ok('advance', '--release', '2.0.0');
  await ok('migrate', '--quiet');
  await ok('advance', '--release', '3.0.0');
  await ok('migrate', '--quiet');
  expect(await as(url, reader, `SELECT favourite_color FROM public.events_1 WHERE id = 5`)).toEqual([
    { favourite_color: 'title 5' },
  ]);
  expect(await as(url, reader, `SELECT favourite_color FROM public.events_3 WHERE id = 250`)).toEqual([
    { favourite_color: 'late partition' },
  ]);

  await ok('rollback', '--release', '3.0.0', '--yes', '--quiet');
  expect(await as(url, reader, `SELECT job_title FROM public.events_3 WHERE id = 250`)).toEqual([
    { job_title: 'late partition' },
  ]);
  expect(await reads('public.events_2', 'job_title')).toBe(false);
}, 180_000);
