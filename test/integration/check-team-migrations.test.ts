import { afterAll, expect, test } from 'vitest';
import { check } from '../../src/commands/check.js';
import { writeProject, type RenameFixture } from '../support/check-project.js';
import { createRepository, removeTemporaryRepositories } from '../support/git-repo.js';

afterAll(removeTemporaryRepositories);

const TITLE: RenameFixture = { id: 'users-title', from: 'job_title', to: 'favourite_color' };

test("rule 6: the team's own SQL files in db/migrations that the pull request adds or changes count as code; history and phasectl's files do not", async () => {
  const repository = createRepository();
  writeProject(repository, {
    releases: ['1.4.0', '1.5.0'],
    changes: [{ ...TITLE, releases: { phase1: '1.4.0', phase2: '1.5.0' } }],
  });
  repository.write(
    'db/migrations/000_create_users.sql',
    'CREATE TABLE public.users (id bigint PRIMARY KEY, job_title text);\n',
  );
  repository.write(
    'db/migrations/001_title_function.sql',
    'CREATE FUNCTION public.title_of(bigint) RETURNS text LANGUAGE sql AS $$ SELECT job_title FROM public.users WHERE id = $1 $$;\n',
  );
  repository.commit('releases 1.4.0 and 1.5.0');
  repository.git('checkout', '-q', '-b', 'feature');
  writeProject(repository, {
    releases: ['1.4.0', '1.5.0', '1.6.0'],
    changes: [{ ...TITLE, releases: { phase1: '1.4.0', phase2: '1.5.0', phase3: '1.6.0' } }],
  });
  // Rewritten only now, in the release of phase 3, and still naming the old column in a new file.
  repository.write(
    'db/migrations/002_title_function_v2.sql',
    '-- moves title_of to favourite_color\nCREATE OR REPLACE FUNCTION public.title_of(bigint) RETURNS text LANGUAGE sql AS $$\n  SELECT coalesce(favourite_color, job_title) FROM public.users WHERE id = $1\n$$;\n',
  );
  repository.commit('phase 3');

  const report = await check({ projectDir: repository.dir, base: 'main' });
  const rule6 = report.violations.filter((violation) => violation.rule === 6);
  expect(rule6.map((violation) => `${violation.file}:${violation.line}:${violation.column}`)).toEqual([
    'db/migrations/002_title_function_v2.sql:3:36',
  ]);
  expect(rule6[0]?.message).toContain('still names public.users.job_title');
});
