import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, roleIn } from '../support/test-project.js';

/**
 * Privileges granted on the old column while the change is in flight (after phase 1 copied the column's grants): the
 * release of phase 2 writes the new column, so phase 2's switch copies them again (additive, as phase 1 and phase 3
 * do; a GRANT takes no lock on the table), and phase 2's down copies what was granted on the new column back onto the
 * old one, which the release before writes again. Before, only phase 3 copied them: from phase 2 on, a role allowed
 * to write the old column got "permission denied" writing the new one.
 */
const cleanups = cleanupsAfterAll();

test('a rename: UPDATE granted on the old column after phase 1 lets the role write the new one in phase 2; one granted on the new column in phase 2 survives its down', async () => {
  const { url, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, email text, job_title text NOT NULL DEFAULT 'unknown');
     INSERT INTO public.users SELECT g, 'u' || g, 'title ' || g FROM generate_series(1, 20) g;`,
    'phasectl-grants-in-flight-',
  );
  const writer = await roleIn(cleanups, url);
  const late = await roleIn(cleanups, url);
  await ok('init');
  await ok('plan', 'rename', 'public.users.job_title', 'favourite_color', '--id', 'users-job-title');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  // Day two of phase 1: a service is allowed to read and correct job titles (the old release's column).
  await query(url, `GRANT SELECT (id, job_title), UPDATE (job_title) ON public.users TO ${writer.name}`);
  await ok('advance', '--release', '2.0.0');
  await ok('migrate', '--quiet');
  // The new release of that service writes the new column.
  await query(
    url,
    `BEGIN; SET LOCAL ROLE ${writer.name}; UPDATE public.users SET favourite_color = 'phase 2' WHERE id = 3; COMMIT`,
  );
  expect(await query(url, `SELECT job_title, favourite_color FROM public.users WHERE id = 3`)).toEqual([
    { job_title: 'phase 2', favourite_color: 'phase 2' },
  ]);
  // In phase 2 another service is allowed the new column only; phase 2 is rolled back: the release before writes the
  // old column.
  await query(url, `GRANT SELECT (id, favourite_color), UPDATE (favourite_color) ON public.users TO ${late.name}`);
  await ok('rollback', '--release', '2.0.0', '--yes', '--quiet');
  await query(
    url,
    `BEGIN; SET LOCAL ROLE ${late.name}; UPDATE public.users SET job_title = 'phase 1 again' WHERE id = 4; COMMIT`,
  );
  expect(await query(url, `SELECT job_title, favourite_color FROM public.users WHERE id = 4`)).toEqual([
    { job_title: 'phase 1 again', favourite_color: 'phase 1 again' },
  ]);
}, 180_000);

test('a move: SELECT and UPDATE granted on the source table after phase 1 reach the target column in phase 2', async () => {
  const { url, ok } = await databaseWithFolder(
    cleanups,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
     CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE, bio text);
     INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 10) g;
     INSERT INTO public.profiles SELECT g, g, 'bio ' || g FROM generate_series(1, 10) g;`,
    'phasectl-move-grants-in-flight-',
  );
  const writer = await roleIn(cleanups, url);
  await ok('init');
  await ok('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr');
  await ok('advance', '--release', '1.0.0');
  await ok('migrate', '--quiet');
  // In flight: a service gets the users table (and reads the join column of profiles).
  await query(
    url,
    `GRANT SELECT, UPDATE ON public.users TO ${writer.name}; GRANT SELECT (user_id) ON public.profiles TO ${writer.name}`,
  );
  await ok('advance', '--release', '2.0.0');
  await ok('migrate', '--quiet');
  // Its new release writes the address where it now lives; the sync copies it back to users.
  await query(
    url,
    `BEGIN; SET LOCAL ROLE ${writer.name}; UPDATE public.profiles SET address = 'phase 2' WHERE user_id = 3;
     UPDATE public.users SET address = 'old release' WHERE id = 4; COMMIT`,
  );
  expect(
    await query(
      url,
      `SELECT u.id, u.address AS source, p.address AS target FROM public.users u JOIN public.profiles p ON p.user_id = u.id
        WHERE u.id IN (3, 4) ORDER BY u.id`,
    ),
  ).toEqual([
    { id: '3', source: 'phase 2', target: 'phase 2' },
    { id: '4', source: 'old release', target: 'old release' },
  ]);
}, 180_000);
