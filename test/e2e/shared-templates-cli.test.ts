import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, onTestFinished, test } from 'vitest';
import { generate } from '../../src/commands/generate.js';
import { phasectl, repoRoot, requireBuiltCli } from '../support/cli.js';

/**
 * Templates a team overrides, and the package's own as the build precompiles them (scripts/precompile-templates.mjs).
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

function hbsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? hbsFiles(join(dir, entry.name)) : entry.name.endsWith('.hbs') ? [join(dir, entry.name)] : [],
  );
}

function tree(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else files[relative(root, path)] = readFileSync(path, 'utf8');
    }
  };
  walk(join(root, 'db'));
  return files;
}

test('the build precompiles every template, and the CLI writes byte for byte what the templates compile to at run time', async () => {
  requireBuiltCli();
  const built = (await import(pathToFileURL(join(repoRoot, 'dist/render/precompiled-templates.js')).href)) as {
    precompiledTemplates: Record<string, { sha256: string; spec: string }>;
  };
  const templatesDir = join(repoRoot, 'templates');
  const expected = Object.fromEntries(
    hbsFiles(templatesDir).map((path) => [
      relative(templatesDir, path).split(sep).join('/'),
      createHash('sha256').update(readFileSync(path)).digest('hex'),
    ]),
  );
  const builtHashes = Object.fromEntries(
    Object.entries(built.precompiledTemplates).map(([key, entry]) => [key, entry.sha256]),
  );
  expect(builtHashes).toEqual(expected);

  // This repository's own example (a rename, a move and a type change through their phases): the built CLI renders
  // from the precompiled table, the in-process generate from the files (the table is empty in src/).
  const viaCli = mkdtempSync(join(tmpdir(), 'phasectl-precompiled-'));
  const inProcess = mkdtempSync(join(tmpdir(), 'phasectl-compiled-'));
  onTestFinished(() => {
    rmSync(viaCli, { recursive: true, force: true });
    rmSync(inProcess, { recursive: true, force: true });
  });
  for (const dir of [viaCli, inProcess]) cpSync(join(repoRoot, 'phases.yaml'), join(dir, 'phases.yaml'));
  const generated = await phasectl(['generate'], { cwd: viaCli });
  expect(generated.stderr).toBe('');
  expect(generated.code).toBe(0);
  await generate({ projectDir: inProcess });
  const cliFiles = tree(viaCli);
  expect(Object.keys(cliFiles).length).toBeGreaterThan(30);
  expect(cliFiles).toEqual(tree(inProcess));
});

test("a team's partial called from a precompiled template renders unescaped and strict, like the package's own", async () => {
  const root = mkdtempSync(join(tmpdir(), 'phasectl-team-partial-'));
  onTestFinished(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(join(root, 'phases.yaml'), phasesYaml);
  const templates = join(root, 'team-templates');
  mkdirSync(join(templates, 'shared'), { recursive: true });
  const timeouts = readFileSync(join(repoRoot, 'templates/shared/timeouts.hbs'), 'utf8');
  const marker = `-- team <reviewed> & "approved": {{literal "it's"}}`;
  writeFileSync(join(templates, 'shared', 'timeouts.hbs'), `${marker}\n${timeouts}`);

  const generated = await phasectl(['generate', '--templates', templates], { cwd: root });
  expect(generated.stderr).toBe('');
  expect(generated.code).toBe(0);
  for (const changeId of ['users-job-title-to-role', 'users-address-to-profiles']) {
    expect(migration(root, changeId, '_expand.up.sql')).toContain(`-- team <reviewed> & "approved": 'it''s'\n`);
  }

  // strict: a field the context does not have is an error, never an empty string in the SQL.
  writeFileSync(join(templates, 'shared', 'timeouts.hbs'), `-- {{lockTimeoutTypo}}\n${timeouts}`);
  const typo = await phasectl(['generate', '--templates', templates], { cwd: root });
  expect(typo.code).not.toBe(0);
  expect(typo.stderr).toContain('lockTimeoutTypo');
});
