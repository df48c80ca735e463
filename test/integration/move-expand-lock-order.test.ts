import { expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import { migrate } from '../../src/commands/migrate.js';
import { planMove } from '../../src/commands/plan-move.js';
import { createTestDatabase } from '../support/database.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, emptyProject } from '../support/test-project.js';

const cleanups = cleanupsAfterAll();

/**
 * A move's expand locks two tables: ADD COLUMN the target, CREATE TRIGGER the source. It took the target first, so
 * an application transaction that writes a user and then its profile (the usual order, and the sync triggers' own)
 * deadlocked with it: the file held profiles and waited for users, the application held users and waited for
 * profiles. PostgreSQL aborts the side whose deadlock_timeout runs out first; under traffic that was the application's
 * write (40P01, seen with six writers at READ COMMITTED, REPEATABLE READ and SERIALIZABLE). The application's session
 * here checks for deadlocks after 20 ms, so it is the side that would be aborted.
 */
test("a move's expand waits for the source before it locks the target: an application writing user then profile commits", async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const dir = await emptyProject(cleanups, 'phasectl-move-lock-');
  await query(
    db.url,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, address text);
     CREATE TABLE public.profiles (id bigserial PRIMARY KEY, user_id bigint NOT NULL UNIQUE REFERENCES public.users (id), bio text);
     INSERT INTO public.users SELECT g, 'street ' || g FROM generate_series(1, 100) g;
     INSERT INTO public.profiles (user_id) SELECT g FROM generate_series(1, 100) g;`,
  );
  await planMove({
    projectDir: dir,
    from: 'users.address',
    to: 'profiles.address',
    on: 'id=user_id',
    databaseUrl: db.url,
  });
  await advance({ projectDir: dir, release: '1.0.0' });

  const app = await client(db.url);
  const watcher = await client(db.url);
  try {
    await app.query(`SET deadlock_timeout = '20ms'`);
    await app.query('BEGIN');
    await app.query(`INSERT INTO public.users (id, address) VALUES (1000, 'new street')`);
    const migrating = migrate({ databaseUrl: db.url, projectDir: dir, retryForSeconds: 30 }).catch(
      (error: unknown) => error,
    );
    // Wait until the file waits for users (the application holds it).
    for (;;) {
      const { rows } = await watcher.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted AND relation = 'public.users'::regclass`,
      );
      if (rows[0]!.n > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    // The application now writes the partner row, then commits.
    const outcome = await app.query(`INSERT INTO public.profiles (user_id, bio) VALUES (1000, 'hi')`).then(
      () => 'ok',
      (error: Error & { code?: string }) => `${error.code}: ${error.message}`,
    );
    await app.query(outcome === 'ok' ? 'COMMIT' : 'ROLLBACK');
    const result = await migrating;

    expect(outcome).toBe('ok');
    expect(result).not.toBeInstanceOf(Error);
    expect(await query(db.url, 'SELECT address FROM public.profiles WHERE user_id = 1000')).toEqual([
      { address: 'new street' },
    ]);
  } finally {
    await app.end();
    await watcher.end();
  }
});
