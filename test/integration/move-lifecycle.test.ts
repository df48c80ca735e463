import type pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import { planMove } from '../../src/commands/plan-move.js';
import { migrate } from '../../src/commands/migrate.js';
import { rollback } from '../../src/commands/rollback.js';
import { catalogSnapshot } from '../support/apply-sql.js';
import { createTestDatabase } from '../support/database.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, emptyProject } from '../support/test-project.js';

/**
 * The whole life of a move with generated files: users.address → profiles.address (profiles.user_id = users.id)
 * over three releases, migrated while old code writes users.address, new code writes profiles.address, and
 * rows come and go on both tables. Every pair must end with its last write.
 *
 * ids 1..1500: written by the application (both sides, by release); 1501..1550: profile deleted, re-created later;
 * 1551..1600: users deleted (the FK cascades to profiles); 1601..2000: no profile until just before phase 3.
 */
const ROWS = 2000;
const WRITTEN = 1500;
const cleanups = cleanupsAfterAll();

let url: string;
beforeAll(async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  url = db.url;
});

async function project(): Promise<string> {
  const dir = await emptyProject(cleanups, 'phasectl-move-');
  await query(
    url,
    `
    CREATE TABLE public.users (id bigint PRIMARY KEY, name text NOT NULL DEFAULT '', address text CHECK (length(address) < 200));
    CREATE INDEX users_address_idx ON public.users (address);
    CREATE TABLE public.profiles (id bigserial PRIMARY KEY, user_id bigint NOT NULL UNIQUE REFERENCES public.users (id) ON DELETE CASCADE, bio text);
    INSERT INTO public.users (id, address) SELECT g, 'street ' || g FROM generate_series(1, ${ROWS}) g;
    INSERT INTO public.profiles (user_id) SELECT g FROM generate_series(1, 1600) g;`,
  );
  const planned = await planMove({
    projectDir: dir,
    from: 'users.address',
    to: 'profiles.address',
    on: 'id=user_id',
    id: 'users-address',
    databaseUrl: url,
  });
  expect(planned.change.target).toEqual({ existingColumn: false, uniqueIndex: 'profiles_user_id_key' });
  expect(planned.plan).toContain('move public.users.address → public.profiles.address');
  for (const release of ['1.0.0', '1.1.0', '1.2.0']) await advance({ projectDir: dir, release });
  return dir;
}

type Side = 'users' | 'profiles' | 'both';

/**
 * Application clients updating the column; each owns ids ≡ index (mod clients), so a row's last write is well defined.
 * Every failed write is kept in `errors` (and stops its client): each release only writes the side that exists
 * in it, so any error, "column does not exist" included, means a phase broke a running application.
 */
function writers(clients: pg.Client[], side: () => Side) {
  const expected = new Map<number, string>();
  const errors: string[] = [];
  let stop = false;
  let writes = 0;
  const loops = clients.map(async (c, index) => {
    for (let i = 0; !stop; i++) {
      const id = 1 + index + clients.length * ((i * 37) % Math.floor(WRITTEN / clients.length));
      const value = `c${index}-w${i}`;
      const current = side();
      const table = current === 'both' ? (i % 2 === 0 ? 'users' : 'profiles') : current;
      const key = table === 'users' ? 'id' : 'user_id';
      try {
        await c.query(`UPDATE public.${table} SET address = $2 WHERE ${key} = $1`, [id, value]);
        expected.set(id, value);
        writes += 1;
      } catch (error) {
        errors.push(`client ${index}, ${table} of id ${id}: ${String(error)}`);
        return;
      }
    }
  });
  return {
    expected,
    errors,
    get writes() {
      return writes;
    },
    async stop() {
      stop = true;
      await Promise.all(loops);
    },
  };
}

const pause = () => new Promise((resolve) => setTimeout(resolve, 250));

test('three releases under concurrent writes on both tables: every pair keeps its last write; each rollback restores schema and data', async () => {
  const dir = await project();
  const before = {
    users: await catalogSnapshot(await track(client(url)), 'public.users'),
    profiles: await catalogSnapshot(await track(client(url)), 'public.profiles'),
  };
  const clients = await Promise.all([client(url), client(url), client(url)]);
  cleanups.push(async () => {
    await Promise.all(clients.map((c) => c.end()));
  });
  let side: Side = 'users';
  const load = writers(clients, () => side);
  const other = await track(client(url));

  await pause();
  await migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.0.0' });
  // Old code keeps creating users; their profiles come later.
  await other.query(
    `INSERT INTO public.users (id, address) SELECT g, 'new ' || g FROM generate_series(${ROWS + 1}, ${ROWS + 100}) g`,
  );
  await pause();
  side = 'both';
  // Rows come and go on both sides.
  await other.query('DELETE FROM public.profiles WHERE user_id BETWEEN 1501 AND 1550');
  await other.query('DELETE FROM public.users WHERE id BETWEEN 1551 AND 1600');
  await other.query(
    `INSERT INTO public.profiles (user_id) SELECT g FROM generate_series(${ROWS + 1}, ${ROWS + 100}) g`,
  );
  await pause();
  await migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.1.0' });
  await pause();
  side = 'profiles';
  await other.query('INSERT INTO public.profiles (user_id) SELECT g FROM generate_series(1501, 1550) g');
  await pause();

  // Users 1601..2000 still have no profile: phase 3 would lose their address, so it refuses and names the fix.
  await expect(migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.2.0' })).rejects.toThrow(
    /400 rows of "public"."users" have a value in address but no row in "public"."profiles"/,
  );
  await other.query(`INSERT INTO public.profiles (user_id) SELECT g FROM generate_series(1601, ${ROWS}) g`);
  await migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.2.0' });
  await pause();
  await load.stop();

  expect(load.errors).toEqual([]);
  expect(load.writes).toBeGreaterThan(500);
  const expectedAddress = (id: number) => load.expected.get(id) ?? (id > ROWS ? `new ${id}` : `street ${id}`);
  const rows = await query<{ user_id: string; address: string }>(
    url,
    'SELECT user_id, address FROM public.profiles ORDER BY user_id',
  );
  expect(rows).toHaveLength(ROWS + 100 - 50);
  expect(rows.filter((row) => row.address !== expectedAddress(Number(row.user_id)))).toEqual([]);
  expect(
    await query(
      url,
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'address'`,
    ),
  ).toEqual([{ n: 0 }]);
  expect(await query(url, `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'zz_phasectl_sync_%'`)).toEqual([
    { n: 0 },
  ]);
  expect(
    await query(
      url,
      `SELECT count(*)::int AS n FROM pg_proc WHERE pronamespace = 'phasectl'::regnamespace AND proname <> 'refuse_untrusted_code'`,
    ),
  ).toEqual([{ n: 0 }]);
  // The index and the check were rebuilt on the target column.
  const profileIndexes = await query<{ indexdef: string }>(
    url,
    `SELECT indexdef FROM pg_indexes WHERE tablename = 'profiles' ORDER BY indexname`,
  );
  expect(profileIndexes.map((row) => row.indexdef)).toContain(
    'CREATE INDEX profiles_address_idx ON public.profiles USING btree (address)',
  );
  await expect(query(url, `UPDATE public.profiles SET address = repeat('x', 300) WHERE user_id = 1`)).rejects.toThrow(
    /users_address_check|violates check constraint/,
  );

  // Rollback of phase 3: the column is back on users, filled from profiles.
  await rollback({ databaseUrl: url, projectDir: dir, release: '1.2.0' });
  const back = await query<{ id: string; address: string | null; moved: string | null }>(
    url,
    'SELECT u.id, u.address, p.address AS moved FROM public.users u JOIN public.profiles p ON p.user_id = u.id ORDER BY u.id',
  );
  expect(back.filter((row) => row.address !== row.moved || row.address !== expectedAddress(Number(row.id)))).toEqual(
    [],
  );
  // And it is synced again (phase 2: profiles wins): a write on either side reaches the other.
  await query(url, `UPDATE public.users SET address = 'after rollback' WHERE id = 7`);
  expect(await query(url, 'SELECT address FROM public.profiles WHERE user_id = 7')).toEqual([
    { address: 'after rollback' },
  ]);
  await query(url, `UPDATE public.profiles SET address = $1 WHERE user_id = 7`, [expectedAddress(7)]);
  expect(await query(url, 'SELECT address FROM public.users WHERE id = 7')).toEqual([{ address: expectedAddress(7) }]);

  await rollback({ databaseUrl: url, projectDir: dir, release: '1.1.0' });
  await rollback({ databaseUrl: url, projectDir: dir, release: '1.0.0' });
  const snapshot = await track(client(url));
  expect(await catalogSnapshot(snapshot, 'public.users')).toEqual(before.users);
  expect(await catalogSnapshot(snapshot, 'public.profiles')).toEqual(before.profiles);
  const restored = await query<{ id: string; address: string }>(
    url,
    'SELECT id, address FROM public.users ORDER BY id',
  );
  expect(restored.filter((row) => row.address !== expectedAddress(Number(row.id)))).toEqual([]);
  expect(await query(url, 'SELECT count(*)::int AS n FROM phasectl.migrations')).toEqual([{ n: 0 }]);

  // A database at release 0 takes all three releases in one migrate, in order.
  await migrate({ databaseUrl: url, projectDir: dir });
  const final = await query<{ user_id: string; address: string }>(
    url,
    'SELECT user_id, address FROM public.profiles ORDER BY user_id',
  );
  expect(final.filter((row) => row.address !== expectedAddress(Number(row.user_id)))).toEqual([]);
  expect(await query(url, `SELECT phase FROM phasectl.changes WHERE id = 'users-address'`)).toEqual([{ phase: 3 }]);
});

async function track(connecting: Promise<pg.Client>): Promise<pg.Client> {
  const c = await connecting;
  cleanups.push(() => c.end());
  return c;
}
