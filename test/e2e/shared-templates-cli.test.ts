import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';
import { phasectl } from '../support/cli.js';

/**
 * Issue 16 item 1: the steps rename and move share (indexes, constraints, validate, drop-indexes, drop-constraints)
 * render from templates/shared, so one override of a team's templates folder reaches both kinds; a kind's own file
 * still wins over the shared one. No database: generate is offline.
 */
const phasesYaml = `version: 1
releases: [ 1.0.0 ]
changes:
  - id: users-job-title-to-role
    rename: { schema: public, table: users, from: job_title, to: role }
    column:
      type: text
      nullable: false
      indexes:
        - { name: users_job_title_idx, unique: false, definition: "CREATE INDEX users_job_title_idx ON public.users USING btree (job_title)" }
      constraints:
        - { name: users_job_title_check, kind: check, definition: "CHECK ((length(job_title) <= 200))" }
    key: { columns: [ id ], types: [ bigint ] }
    releases: { phase1: 1.0.0 }
  - id: users-address-to-profiles
    move:
      from: { schema: public, table: users, column: address }
      to: { schema: public, table: profiles, column: address }
      on: [ { from: id, to: user_id } ]
    column:
      type: text
      nullable: true
      indexes:
        - { name: users_address_idx, unique: false, definition: "CREATE INDEX users_address_idx ON public.users USING btree (address)" }
      constraints:
        - { name: users_address_check, kind: check, definition: "CHECK ((length(address) <= 500))" }
    key: { columns: [ id ], types: [ bigint ] }
    target: { existingColumn: false, uniqueIndex: profiles_user_id_key }
    releases: { phase1: 1.0.0 }
`;

/** A team's version of a template: the packaged text with a marker line on top. */
const packaged: Record<string, string> = {
  indexes: '{{> timeouts}}\n\n{{#each indexes}}\n{{> create-index}}\n\n{{/each}}\n{{> timeouts-end}}\n',
  validate:
    '{{> timeouts}}\n\n{{#each validations}}\n{{> validate-constraint}}\n\n{{/each}}\n{{#each notNull}}\n{{> set-not-null}}\n\n{{/each}}\n{{> timeouts-end}}\n',
};

function override(dir: string, folder: string, name: string, marker: string): void {
  mkdirSync(join(dir, folder), { recursive: true });
  writeFileSync(join(dir, folder, `${name}.sql.hbs`), `-- ${marker}\n${packaged[name]}`);
}

function migration(root: string, changeId: string, suffix: string): string {
  const dir = join(root, 'db', 'migrations');
  const name = readdirSync(dir).find((file) => file.includes(`_${changeId}_`) && file.endsWith(suffix));
  if (!name) throw new Error(`no ${suffix} file of ${changeId}`);
  return readFileSync(join(dir, name), 'utf8');
}

test('a shared template override reaches rename and move; a kind folder still wins over it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'phasectl-shared-templates-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'phases.yaml'), phasesYaml);
  const templates = join(root, 'team-templates');
  override(templates, 'shared', 'indexes', 'team: indexes, for every kind');
  override(templates, 'shared', 'validate', 'team: validate, for every kind');
  override(templates, 'rename', 'validate', 'team: validate, rename only');

  const generated = await phasectl(['generate', '--templates', templates], { cwd: root });
  expect(generated.stderr).toBe('');
  expect(generated.code).toBe(0);

  for (const changeId of ['users-job-title-to-role', 'users-address-to-profiles']) {
    expect(migration(root, changeId, '_indexes.up.sql')).toContain('-- team: indexes, for every kind\n');
  }
  const renameValidate = migration(root, 'users-job-title-to-role', '_validate.up.sql');
  expect(renameValidate).toContain('-- team: validate, rename only\n');
  expect(renameValidate).not.toContain('for every kind');
  expect(migration(root, 'users-address-to-profiles', '_validate.up.sql')).toContain(
    '-- team: validate, for every kind\n',
  );
  // Untouched shared templates still come from the package.
  expect(migration(root, 'users-address-to-profiles', '_constraints.up.sql')).not.toContain('-- team:');

  const check = await phasectl(['generate', '--check', '--templates', templates], { cwd: root });
  expect(check.code).toBe(0);
});
