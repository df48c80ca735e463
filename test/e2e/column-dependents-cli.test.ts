import { expect, test } from 'vitest';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithFolder, hasColumn } from '../support/test-project.js';

/**
 * Objects created after `plan` that depend on the dropped column in pg_depend (templates/shared/guard-column-dependents.hbs):
 * a policy, a publication's column list, a foreign key of another table make phase 3's DROP COLUMN fail; an index,
 * a statistics object or an owned sequence would go with the column silently. Phase 3 refuses each before anything
 * changes (exit 3, named, with the fix); a move refuses in its unsync step, so its target trigger stays.
 */
const cleanups = cleanupsAfterAll();

const RENAME_SCHEMA = `
  CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text NOT NULL DEFAULT 'unknown', team int);
  INSERT INTO public.users SELECT g, 'title ' || g, g % 3 FROM generate_series(1, 20) g;`;

async function renameAtPhase3(extra = '') {
  const project = await databaseWithFolder(cleanups, RENAME_SCHEMA + extra, 'phasectl-column-dependents-');
  await project.ok('init');
  await project.ok('plan', 'rename', 'public.users.job_title', 'favourite_color', '--id', 'users-job-title');
  for (const release of ['1.0.0', '2.0.0']) {
    await project.ok('advance', '--release', release);
    await project.ok('migrate', '--quiet');
  }
  await project.ok('advance', '--release', '3.0.0');
  return project;
}

test('rename: a policy naming the column, created after plan, stops phase 3 cleanly until it names the new column', async () => {
  const { url, run, ok } = await renameAtPhase3();
  await query(
    url,
    `ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
     CREATE POLICY titled ON public.users USING (job_title <> 'hidden') WITH CHECK (job_title <> 'forbidden');`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('cannot drop job_title: it is used by policy titled on table public.users');
  expect(refused.stderr).toContain('DROP COLUMN would fail on it');
  expect(refused.stderr).toContain('ALTER POLICY');
  expect(refused.stderr).not.toContain('CASCADE');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(true);

  await query(
    url,
    `ALTER POLICY titled ON public.users USING (favourite_color <> 'hidden') WITH CHECK (favourite_color <> 'forbidden')`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(false);
}, 300_000);

test('rename: objects phase 3 would drop silently (index, statistics) and a publication column list are refused; an owned sequence is carried', async () => {
  const { url, run, ok } = await renameAtPhase3();
  const [{ major }] = (await query(url, `SELECT current_setting('server_version_num')::int / 10000 AS major`)) as [
    { major: number },
  ];
  await query(
    url,
    `CREATE INDEX users_team_title ON public.users (team, job_title);
     CREATE STATISTICS users_title_team ON job_title, team FROM public.users;
     CREATE SEQUENCE public.title_numbers OWNED BY public.users.job_title;
     ALTER TABLE public.users ADD COLUMN shout text GENERATED ALWAYS AS (upper(job_title)) STORED;
     ${major >= 15 ? 'CREATE PUBLICATION titles FOR TABLE public.users (id, job_title);' : ''}`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('index public.users_team_title (DROP COLUMN would drop it)');
  expect(refused.stderr).toContain('statistics object public.users_title_team (DROP COLUMN would drop it)');
  // A sequence the column owns is given to the new column by phase 3 (carry-owned-sequences.hbs): not refused.
  expect(refused.stderr).not.toContain('title_numbers');
  // PostgreSQL 14 records a stored generated column as going with the column (values and all); 15+ as blocking it.
  expect(refused.stderr).toContain(
    `generated column shout of public.users (DROP COLUMN would ${major >= 15 ? 'fail on' : 'drop'} it)`,
  );
  if (major >= 15) {
    expect(refused.stderr).toContain(
      'publication of table public.users in publication titles (DROP COLUMN would fail on it)',
    );
  }
  expect(refused.stderr).toContain('CREATE STATISTICS');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(true);

  await query(
    url,
    `CREATE INDEX users_team_colour ON public.users (team, favourite_color);
     DROP INDEX public.users_team_title;
     CREATE STATISTICS users_colour_team ON favourite_color, team FROM public.users;
     DROP STATISTICS public.users_title_team;
     ALTER TABLE public.users DROP COLUMN shout;
     ALTER TABLE public.users ADD COLUMN shout text GENERATED ALWAYS AS (upper(favourite_color)) STORED;
     ${major >= 15 ? 'ALTER PUBLICATION titles SET TABLE public.users (id, favourite_color);' : ''}`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(false);
  expect(
    await query(
      url,
      `SELECT a.attname::text AS owner FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
       WHERE d.classid = 'pg_class'::regclass AND d.objid = 'public.title_numbers'::regclass AND d.deptype = 'a'`,
    ),
  ).toEqual([{ owner: 'favourite_color' }]);
  expect(await query(url, `SELECT shout FROM public.users WHERE id = 3`)).toEqual([{ shout: 'TITLE 3' }]);
}, 300_000);

test('rename: a foreign key of another table created after plan is refused (recorded ones are carried)', async () => {
  const { url, run, ok } = await renameAtPhase3(`
    CREATE UNIQUE INDEX users_job_title_key ON public.users (job_title);`);
  await query(url, `CREATE TABLE public.badges (title text REFERENCES public.users (job_title))`);
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'constraint badges_title_fkey on table public.badges (DROP COLUMN would fail on it)',
  );
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(true);
  await query(
    url,
    `ALTER TABLE public.badges DROP CONSTRAINT badges_title_fkey;
     ALTER TABLE public.badges ADD FOREIGN KEY (title) REFERENCES public.users (favourite_color) NOT VALID;`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(false);
}, 300_000);

const MOVE_SCHEMA = `
  CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
  CREATE TABLE public.profiles (id bigint PRIMARY KEY, user_id bigint NOT NULL UNIQUE);
  INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 30) g;
  INSERT INTO public.profiles SELECT g, g FROM generate_series(1, 30) g;`;

test('move: a policy naming the source column, created after plan, is refused before the target trigger goes', async () => {
  const { url, run, ok } = await databaseWithFolder(cleanups, MOVE_SCHEMA, 'phasectl-column-dependents-move-');
  await ok('init');
  await ok('plan', 'move', 'users.address', 'profiles.address', '--on', 'id=user_id', '--id', 'addr');
  for (const release of ['1.0.0', '1.1.0']) {
    await ok('advance', '--release', release);
    await ok('migrate', '--quiet');
  }
  await ok('advance', '--release', '1.2.0');
  const targetTriggers = async () =>
    query(
      url,
      `SELECT tgname FROM pg_trigger WHERE tgrelid = 'public.profiles'::regclass AND NOT tgisinternal ORDER BY tgname`,
    );
  const before = await targetTriggers();
  expect(before.length).toBeGreaterThan(0);
  await query(url, `CREATE POLICY no_secret ON public.users USING (address IS DISTINCT FROM 'secret')`);

  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain('cannot drop address: it is used by policy no_secret on table public.users');
  expect(refused.stderr).not.toContain('other objects depend on it');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(true);
  // Refused in the unsync step: the sync from profiles still runs.
  expect(await targetTriggers()).toEqual(before);
  await query(url, `UPDATE public.profiles SET address = 'new street 8' WHERE user_id = 8`);
  expect(await query(url, `SELECT address FROM public.users WHERE id = 8`)).toEqual([{ address: 'new street 8' }]);

  await query(url, `DROP POLICY no_secret ON public.users`);
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'address')).toBe(false);
  expect(await query(url, `SELECT address FROM public.profiles WHERE user_id = 8`)).toEqual([
    { address: 'new street 8' },
  ]);
}, 300_000);

test('rename: the replica identity index of the column moves to its copy in phase 3; one on an index plan did not record is refused', async () => {
  const { url, run, ok } = await renameAtPhase3(`
    CREATE UNIQUE INDEX users_job_title_key ON public.users (job_title);`);
  // An index created after plan: phase 1 built no copy of it, so phase 3 cannot carry the identity.
  await query(
    url,
    `CREATE UNIQUE INDEX users_title_team ON public.users (job_title, team) WHERE team IS NOT NULL;
     CREATE UNIQUE INDEX users_title_id ON public.users (job_title, id);
     ALTER TABLE public.users REPLICA IDENTITY USING INDEX users_title_id;
     CREATE PUBLICATION everything FOR TABLE public.users;`,
  );
  const refused = await run('migrate', '--quiet');
  expect(refused.code, refused.stderr).toBe(3);
  expect(refused.stderr).toContain(
    'index public.users_title_id, the replica identity of public.users (DROP COLUMN would drop it)',
  );
  expect(refused.stderr).toContain('REPLICA IDENTITY DEFAULT');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(true);

  // The recorded index: phase 3 points the identity at its copy before the drop.
  await query(
    url,
    `ALTER TABLE public.users REPLICA IDENTITY USING INDEX users_job_title_key;
     DROP INDEX public.users_title_id; DROP INDEX public.users_title_team;`,
  );
  await ok('migrate', '--quiet');
  expect(await hasColumn(url, 'public.users', 'job_title')).toBe(false);
  expect(
    await query(
      url,
      `SELECT c.relname::text AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
       WHERE i.indrelid = 'public.users'::regclass AND i.indisreplident`,
    ),
  ).toEqual([{ name: 'users_favourite_color_key' }]);
  await query(url, `UPDATE public.users SET team = 9 WHERE id = 1`);
  await query(url, `DELETE FROM public.users WHERE id = 2`);
}, 300_000);
