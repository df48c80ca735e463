import { expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import { backfill, verify } from '../../src/commands/backfill.js';
import { migrate } from '../../src/commands/migrate.js';
import { planRename } from '../../src/commands/plan.js';
import { RuntimeFailure } from '../../src/errors.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, emptyProject } from '../support/test-project.js';

const cleanups = cleanupsAfterAll();

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (error: unknown) => error as RuntimeFailure,
  );

/**
 * `backfill` and `verify` by hand on a database whose phase of the change has no columns for them (phase 1 not
 * applied yet, say while a `migrate` is still busy with another change, or phase 3 applied) failed on their first batch
 * with PostgreSQL's `column t.nickname_new does not exist` and "fix the cause, then rerun …: it resumes after the last
 * committed batch". They now say which phase is missing and what to run.
 */
test('backfill and verify before phase 1 and after phase 3: the phase, and what to run', async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const dir = await emptyProject(cleanups, 'phasectl-backfill-phase-');
  await query(
    db.url,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, nickname text);
     INSERT INTO public.users SELECT g, 'nick ' || g FROM generate_series(1, 20) g;`,
  );
  await planRename({ projectDir: dir, target: 'users.nickname', newName: 'handle', databaseUrl: db.url });
  for (const release of ['1.0.0', '1.1.0', '1.2.0']) await advance({ projectDir: dir, release });
  const changeId = 'users-nickname-to-handle';
  const options = { databaseUrl: db.url, projectDir: dir, changeId };

  for (const error of [await failure(backfill(options)), await failure(verify(options))]) {
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect(error?.message).toMatch(/phase 1 of users-nickname-to-handle is not applied in this database/);
    expect(error?.hint).toMatch(/`phasectl migrate` applies phase 1/);
  }

  await migrate({ databaseUrl: db.url, projectDir: dir });
  const afterContract = [
    await failure(verify(options)),
    await failure(backfill({ ...options, repair: true })),
    await failure(backfill({ ...options, direction: 'down' })),
  ];
  for (const error of afterContract) {
    expect(error).toBeInstanceOf(RuntimeFailure);
    expect(error?.message).toMatch(
      /phase 3 of users-nickname-to-handle is applied in this database, so its old column is gone/,
    );
  }
  expect(afterContract[2]?.hint).toMatch(/phasectl rollback --release 1\.2\.0/);
  // A plain backfill still reports the finished backfill, as deploy scripts that run it every time expect.
  expect(await backfill(options)).toMatchObject({ rowsUpdated: 0, alreadyFinished: true });
});
