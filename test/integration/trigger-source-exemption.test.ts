import { expect, test } from 'vitest';
import { advance } from '../../src/commands/advance.js';
import { migrate } from '../../src/commands/migrate.js';
import { planRename } from '../../src/commands/plan.js';
import { createTestDatabase } from '../support/database.js';
import { query } from '../support/fixtures-project.js';
import { cleanupsAfterAll, emptyProject } from '../support/test-project.js';

const cleanups = cleanupsAfterAll();

/**
 * A trigger function on the table that writes an audit table's column of the same name (`user_log.nickname`, from
 * `NEW.name`) never uses the renamed column: plan's parser clears it. Phase 3's trigger guard is a text search and
 * used to stop on it for good ("rewrite those functions to use display_name"), which no rewrite could satisfy short
 * of renaming the audit table's column; plan told the team to rewrite it too. Now plan says nothing about it and the
 * guard exempts it while its body is unchanged, as the function guard does.
 */
test("a trigger function naming only another table's column of the same name: no note at plan, phase 3 applies", async () => {
  const db = await createTestDatabase();
  cleanups.push(db.drop);
  const dir = await emptyProject(cleanups, 'phasectl-trigger-exempt-');
  await query(
    db.url,
    `CREATE TABLE public.users (id bigint PRIMARY KEY, nickname text, name text);
     CREATE TABLE public.user_log (user_id bigint, nickname text);
     CREATE FUNCTION public.log_user() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN INSERT INTO public.user_log (user_id, nickname) VALUES (NEW.id, NEW.name); RETURN NULL; END $$;
     CREATE TRIGGER log_user AFTER UPDATE ON public.users FOR EACH ROW EXECUTE FUNCTION public.log_user();
     INSERT INTO public.users SELECT g, 'nick ' || g, 'name ' || g FROM generate_series(1, 50) g;`,
  );
  const planned = await planRename({
    projectDir: dir,
    target: 'users.nickname',
    newName: 'display_name',
    databaseUrl: db.url,
  });
  expect(planned.notes).toEqual([]);
  for (const release of ['1.0.0', '1.1.0', '1.2.0']) await advance({ projectDir: dir, release });
  await migrate({ databaseUrl: db.url, projectDir: dir });

  expect(
    await query(
      db.url,
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'users' ORDER BY ordinal_position`,
    ),
  ).toEqual([{ column_name: 'id' }, { column_name: 'name' }, { column_name: 'display_name' }]);
  await query(db.url, `UPDATE public.users SET name = 'renamed' WHERE id = 1`);
  // (The backfills' updates fired it too, README "The table's own triggers fire on the backfill": not counted here.)
  expect(await query(db.url, `SELECT user_id, nickname FROM public.user_log WHERE nickname = 'renamed'`)).toEqual([
    { user_id: '1', nickname: 'renamed' },
  ]);
});
