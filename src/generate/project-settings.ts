import { lstatSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { InputError } from '../errors.js';
import { defaultGenerationSettings, type GenerationSettings } from '../operations/settings.js';
import { defaultTemplatesDir } from '../render/environment.js';
import { didYouMean } from '../spec/closest-name.js';
import { locateKey, type LoadedPhases } from '../spec/load.js';

/**
 * The settings every command that renders migrations uses (generate, advance, check, migrate), read from
 * phases.yaml's `migrations:` section, so that a team's templates and timeouts shape the files the same way
 * whichever command renders them. `templatesOverride` is `generate --templates` (relative to the current
 * directory, like any command-line path).
 */
export function projectGenerationSettings(
  loaded: LoadedPhases,
  projectRoot: string,
  templatesOverride?: string,
): GenerationSettings {
  const migrations = loaded.spec.migrations;
  const settings: GenerationSettings = { ...defaultGenerationSettings };
  if (migrations.lockTimeout !== undefined) settings.lockTimeout = migrations.lockTimeout;
  if (migrations.statementTimeout !== undefined) settings.statementTimeout = migrations.statementTimeout;
  if (templatesOverride !== undefined) {
    settings.templatesDir = checkedTemplatesDir(resolve(templatesOverride), {
      label: `--templates ${templatesOverride}`,
    });
  } else if (migrations.templates !== undefined) {
    const position = locateKey(loaded, ['migrations', 'templates']);
    settings.templatesDir = checkedTemplatesDir(resolve(projectRoot, migrations.templates), {
      label: `migrations.templates (${migrations.templates})`,
      projectRoot,
      location: { file: loaded.file, line: position?.line, column: position?.column },
    });
  }
  return settings;
}

interface Where {
  /** How the error names the setting. */
  label: string;
  /** When set, the folder and every template in it must resolve inside it (no symbolic link out of the project). */
  projectRoot?: string;
  location?: { file: string; line?: number; column?: number };
}

/**
 * `dir`, once checked: a folder (inside the project when it comes from phases.yaml) holding at least one
 * template, each named like one of phasectl's own (`rename/contract.sql.hbs`, `shared/timeouts.hbs` …).
 * A misspelt or misplaced file would otherwise be ignored without a word and the built-in template used.
 */
/**
 * A kind's own copy of a shared step template (`rename/validate.sql.hbs` beside the built-in
 * `shared/validate.sql.hbs`): render/environment.ts looks in `<kind>/` before `shared/`, so it is used.
 */
function overridesSharedStep(file: string, known: readonly string[]): boolean {
  const match = /^(rename|move)\/([^/]+\.sql\.hbs)$/.exec(file);
  return match !== null && known.includes(`shared/${match[2]}`);
}

function checkedTemplatesDir(dir: string, where: Where): string {
  const refuse = (message: string, hint: string): never => {
    throw new InputError(`${where.label}: ${message}`, { hint, location: where.location });
  };
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    refuse(
      `${dir} does not exist`,
      "create the folder (copy the templates you change from phasectl's templates/ folder), or fix the path: it is relative to phases.yaml",
    );
  }
  if (!isDirectory) refuse(`${dir} is not a folder`, 'name a folder of templates (relative to phases.yaml)');
  const root = where.projectRoot === undefined ? undefined : realpathSync(where.projectRoot);
  const outside = (path: string) => root !== undefined && !isInside(realpathSync(path), root);
  if (outside(dir))
    refuse(
      `${dir} resolves outside the project (${realpathSync(dir)})`,
      'keep the templates inside the repository, as a real folder: a symbolic link out of it is not reviewed with the project',
    );
  const known = packageTemplates();
  const found = templateFiles(dir);
  if (found.length === 0)
    refuse(
      `${dir} holds no templates (*.hbs files)`,
      `copy the templates you change from ${defaultTemplatesDir}, keeping their folder and name, e.g. rename/contract.sql.hbs`,
    );
  for (const file of found) {
    if (!known.includes(file) && !overridesSharedStep(file, known)) {
      refuse(
        `${join(dir, file)} is not one of phasectl's templates, so it would never be used`,
        `rename or move it to the name of the template it replaces${didYouMean(file, known)}; phasectl's templates: ${defaultTemplatesDir}`,
      );
    }
    if (outside(join(dir, file)))
      refuse(
        `${join(dir, file)} is a symbolic link out of the project`,
        'copy the template into the folder instead of linking to it',
      );
  }
  return dir;
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** Template files under `dir`, relative, with `/` separators, sorted. Hidden entries are skipped. */
function templateFiles(dir: string, prefix = ''): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const rel = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    const isDirectory = entry.isDirectory() || (entry.isSymbolicLink() && lstatTarget(join(dir, rel)));
    if (isDirectory) files.push(...templateFiles(dir, rel));
    else if (entry.name.endsWith('.hbs')) files.push(rel);
  }
  return files.sort();
}

function lstatTarget(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && statSync(path).isDirectory();
  } catch {
    return false;
  }
}

let packageTemplateList: string[] | undefined;

/** Every template phasectl ships (what a team may override). */
export function packageTemplates(): string[] {
  packageTemplateList ??= templateFiles(defaultTemplatesDir);
  return packageTemplateList;
}
