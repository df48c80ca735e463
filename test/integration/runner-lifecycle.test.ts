import type pg from 'pg';
import { beforeAll, expect, test } from 'vitest';
import { migrate } from '../../src/commands/migrate.js';
import { rollback } from '../../src/commands/rollback.js';
import { client, query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, databaseWithGeneratedProject } from '../support/test-project.js';

/**
 * The whole life of a rename with generated files: users.job_title → favourite_color over three
 * releases, migrated while application clients keep writing; every row must hold its last write.
 */
const ROWS = 5000;
const cleanups = cleanupsAfterAll();

/**
 * Application clients writing in a loop; `expected` holds each row's last committed value. Every failed
 * write is kept in `errors` (and stops its client): each release only writes columns that exist in it,
 * so any error, "column does not exist" included, means a phase broke a running application.
 */
function writers(clients: pg.Client[], column: () => 'job_title' | 'favourite_color' | 'both') {
  const expected = new Map<number, string>();
  const errors: string[] = [];
  let stop = false;
  let writes = 0;
  const loops = clients.map(async (c, index) => {
    let i = 0;
    while (!stop) {
      // Each client owns ids ≡ index (mod clients.length): the last write per row is well defined.
      const id = 1 + ((i * 37 + index) % ROWS) - (((i * 37 + index) % ROWS) % clients.length) + index;
      if (id > ROWS) {
        i += 1;
        continue;
      }
      const value = `c${index}-w${i}`;
      const target = column();
      const col = target === 'both' ? (i % 2 === 0 ? 'job_title' : 'favourite_color') : target;
      try {
        await c.query(`UPDATE public.users SET ${col} = $2 WHERE id = $1`, [id, value]);
        expected.set(id, value);
        writes += 1;
      } catch (error) {
        errors.push(`client ${index}, ${col} of id ${id}: ${String(error)}`);
        return;
      }
      i += 1;
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

let url: string;
let dir: string;
beforeAll(async () => {
  ({ url, dir } = await databaseWithGeneratedProject(cleanups, { rows: ROWS, releases: ['1.0.0', '1.1.0', '1.2.0'] }));
});

test('three releases, one migrate each, under concurrent writes: every row keeps its last write', async () => {
  const clients = await Promise.all([client(url), client(url), client(url)]);
  cleanups.push(async () => {
    await Promise.all(clients.map((c) => c.end()));
  });
  let phase: 'job_title' | 'favourite_color' | 'both' = 'job_title';
  const load = writers(clients, () => phase);

  const pause = () => new Promise((resolve) => setTimeout(resolve, 300));
  await pause();
  await migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.0.0' });
  expect(await query(url, `SELECT phase FROM phasectl.changes`)).toEqual([{ phase: 1 }]);
  await pause();
  phase = 'both'; // blue/green: old and new code side by side
  await pause();
  await migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.1.0' });
  await pause();
  phase = 'favourite_color';
  await pause();
  await migrate({ databaseUrl: url, projectDir: dir, toRelease: '1.2.0' });
  await load.stop();

  expect(load.errors).toEqual([]);
  expect(load.writes).toBeGreaterThan(1000);
  const rows = await query<{ id: string; favourite_color: string }>(
    url,
    'SELECT id, favourite_color FROM public.users ORDER BY id',
  );
  expect(rows).toHaveLength(ROWS);
  const wrong = rows.filter((row) => row.favourite_color !== (load.expected.get(Number(row.id)) ?? `title ${row.id}`));
  expect(wrong).toEqual([]);
  expect(
    await query(
      url,
      `SELECT count(*)::int AS n FROM information_schema.columns WHERE table_name = 'users' AND column_name = 'job_title'`,
    ),
  ).toEqual([{ n: 0 }]);
  expect(await query(url, `SELECT phase, release FROM phasectl.changes WHERE id = 'users-job-title'`)).toEqual([
    { phase: 3, release: '1.2.0' },
  ]);

  // Rollback of each release restores the previous schema and the data.
  await rollback({ databaseUrl: url, projectDir: dir, release: '1.2.0' });
  const back = await query<{ id: string; job_title: string; favourite_color: string }>(
    url,
    'SELECT id, job_title, favourite_color FROM public.users ORDER BY id',
  );
  expect(back.filter((row) => row.job_title !== row.favourite_color)).toEqual([]);
  expect(back.filter((row) => row.job_title !== (load.expected.get(Number(row.id)) ?? `title ${row.id}`))).toEqual([]);
  await rollback({ databaseUrl: url, projectDir: dir, release: '1.1.0' });
  await rollback({ databaseUrl: url, projectDir: dir, release: '1.0.0' });
  const columns = await query<{ column_name: string }>(
    url,
    `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position`,
  );
  // job_title was re-added by the rollback of phase 3, so it is now the last column.
  expect(columns.map((c) => c.column_name).sort()).toEqual(['id', 'job_title', 'n']);
  expect(await query(url, `SELECT count(*)::int AS n FROM pg_trigger WHERE tgname LIKE 'zz_phasectl_sync_%'`)).toEqual([
    { n: 0 },
  ]);
  expect(await query(url, 'SELECT count(*)::int AS n FROM phasectl.migrations')).toEqual([{ n: 0 }]);

  // A database at release 0 takes all three releases in one migrate, in order.
  const all = await migrate({ databaseUrl: url, projectDir: dir });
  expect(all.applied.map((f) => f.name)).toEqual([...all.applied.map((f) => f.name)].sort());
  expect(all.applied.map((f) => f.action).filter((action) => action !== 'sql')).toEqual([
    'backfill',
    'verify',
    'verify',
  ]); // phase 2's verification, and phase 3's before the contract
  expect(await query(url, `SELECT phase FROM phasectl.changes WHERE id = 'users-job-title'`)).toEqual([{ phase: 3 }]);
  const final = await query<{ id: string; favourite_color: string }>(
    url,
    'SELECT id, favourite_color FROM public.users ORDER BY id',
  );
  expect(
    final.filter((row) => row.favourite_color !== (load.expected.get(Number(row.id)) ?? `title ${row.id}`)),
  ).toEqual([]);
});
