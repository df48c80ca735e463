import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { InputError } from '../errors.js';
import { qualify, quoteIdent, quoteLiteral } from './quote.js';
import { inheritanceChildrenSql } from '../sql/inheritance-children.js';
import { otherUpdateTriggersSql } from '../sql/other-update-triggers.js';
import { rulesNamingColumnSql } from '../sql/rules-naming-column.js';
import { untrustedCodeCheckSql, untrustedCodeFunctionSql } from './untrusted-code-check.js';
import { precompiledTemplates } from './precompiled-templates.js';

/**
 * The package's own `templates/` folder. This module sits two levels below the package root both as
 * `src/render/environment.ts` (tsx, vitest) and as `dist/render/environment.js` (the build).
 */
export const defaultTemplatesDir = fileURLToPath(new URL('../../templates/', import.meta.url));

type HelperOptions = Handlebars.HelperOptions;

/** Output is not HTML-escaped, and a missing context field is an error (scripts/precompile-templates.mjs imports these). */
export const COMPILE_OPTIONS = { noEscape: true, strict: true };

function requireString(helper: string, value: unknown): string {
  if (typeof value !== 'string') throw new Error(`template helper ${helper} needs a string, got ${typeof value}`);
  return value;
}

/**
 * A fresh Handlebars instance with phasectl's SQL helpers (never the global one, so user templates
 * cannot leak helpers into other code):
 * - `{{ident name}}` → `"name"`, `{{idents list}}` → `"a", "b"`;
 * - `{{literal text}}` → `'text'`;
 * - `{{qualify schema name}}` → `"schema"."name"`;
 * - `{{#dollarQuote "tag"}}…{{/dollarQuote}}` → `$tag$…$tag$`, with a tag the body does not contain;
 * - `{{untrustedCodeCheck schema table column=… type=…}}` → the call of phasectl.refuse_untrusted_code that refuses
 *   another role's code on the table before a step writes it (src/render/untrusted-code-check.ts); `column`, `type`
 *   optional; `{{untrustedCodeFunction}}` → that function's CREATE OR REPLACE (in the state schema partial);
 * - `{{rulesNamingColumn schema table column}}` → the query of the rules that name the column (src/sql/rules-naming-column.ts,
 *   the one `plan` runs), with the three quoted as literals;
 * - `{{otherUpdateTriggers schema table from to}}` → the query of the other BEFORE UPDATE row triggers that keep a
 *   rename's update trigger from having column lists (src/sql/other-update-triggers.ts, the one phase 2's gate runs);
 * - `{{inheritanceChildren schema table}}` → the query of the table's child tables by INHERITS
 *   (src/sql/inheritance-children.ts, the one the gates of phases 2 and 3 run).
 */
function createEnvironment(): typeof Handlebars {
  const env = Handlebars.create();
  env.registerHelper('ident', (name: unknown) => quoteIdent(requireString('ident', name)));
  env.registerHelper('idents', (names: unknown) => {
    if (!Array.isArray(names)) throw new Error('template helper idents needs a list of names');
    return names.map((name) => quoteIdent(requireString('idents', name))).join(', ');
  });
  env.registerHelper('literal', (text: unknown) => quoteLiteral(requireString('literal', text)));
  env.registerHelper('qualify', (schema: unknown, name: unknown) =>
    qualify(requireString('qualify', schema), requireString('qualify', name)),
  );
  env.registerHelper('dollarQuote', function (this: unknown, tag: unknown, options: HelperOptions) {
    const body = options.fn(this);
    return `${dollarTag(requireString('dollarQuote', tag), body)}${body}${dollarTag(tag as string, body)}`;
  });
  env.registerHelper('untrustedCodeCheck', (schema: unknown, table: unknown, options: HelperOptions) => {
    const { column, type } = options.hash as { column?: unknown; type?: unknown };
    return untrustedCodeCheckSql(
      requireString('untrustedCodeCheck', schema),
      requireString('untrustedCodeCheck', table),
      column === undefined ? [] : [requireString('untrustedCodeCheck', column)],
      type === undefined ? [] : [requireString('untrustedCodeCheck', type)],
    );
  });
  env.registerHelper('untrustedCodeFunction', () => untrustedCodeFunctionSql());
  env.registerHelper('rulesNamingColumn', (schema: unknown, table: unknown, column: unknown) =>
    rulesNamingColumnSql(
      quoteLiteral(qualify(requireString('rulesNamingColumn', schema), requireString('rulesNamingColumn', table))),
      quoteLiteral(requireString('rulesNamingColumn', column)),
    ),
  );
  env.registerHelper('otherUpdateTriggers', (schema: unknown, table: unknown, from: unknown, to: unknown) =>
    otherUpdateTriggersSql(
      `${quoteLiteral(qualify(requireString('otherUpdateTriggers', schema), requireString('otherUpdateTriggers', table)))}::pg_catalog.regclass`,
      `ARRAY[${quoteLiteral(requireString('otherUpdateTriggers', from))}, ${quoteLiteral(requireString('otherUpdateTriggers', to))}]::pg_catalog.name[]`,
    ),
  );
  env.registerHelper('inheritanceChildren', (schema: unknown, table: unknown) =>
    inheritanceChildrenSql(
      `${quoteLiteral(qualify(requireString('inheritanceChildren', schema), requireString('inheritanceChildren', table)))}::pg_catalog.regclass`,
    ),
  );
  return env;
}

/** `$tag$`, or `$tag_2$`, `$tag_3$` … when the body itself contains the shorter tag. */
export function dollarTag(tag: string, body: string): string {
  let candidate = `$${tag}$`;
  for (let n = 2; body.includes(candidate); n++) candidate = `$${tag}_${n}$`;
  return candidate;
}

interface KindEnvironment {
  env: typeof Handlebars;
  compiled: Map<string, Handlebars.TemplateDelegate>;
}

const environments = new Map<string, KindEnvironment>();

/** Folder of the partials and of the templates both kinds use (`<name>.sql.hbs`: a template, not a partial). */
const SHARED = 'shared';

function partialFiles(dir: string, skipTemplates: boolean): Array<{ name: string; path: string }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.hbs') && !(skipTemplates && file.endsWith('.sql.hbs')))
    .sort()
    .map((file) => ({ name: file.replace(/(\.sql)?\.hbs$/, ''), path: join(dir, file) }));
}

/**
 * The template in `path`: the build's precompiled spec when the file is the package's own and unchanged since the
 * build, else compiled from the file (lazily, on first use). Partials are registered the same way, compiled with the
 * run-time options: Handlebars would compile a partial given as text with the calling template's options, and a
 * precompiled template carries none (so no escaping and no strict mode would be lost on a team's own partial).
 */
function loadTemplate(env: typeof Handlebars, path: string): Handlebars.TemplateDelegate {
  const source = readFileSync(path, 'utf8');
  const key = relative(defaultTemplatesDir, path).split(sep).join('/');
  const ahead = key.startsWith('..') ? undefined : precompiledTemplates[key];
  if (ahead && ahead.sha256 === createHash('sha256').update(source).digest('hex')) {
    // The build's own output, from the package's own files (never a user's), evaluated as Handlebars.compile would,
    // on first use (a command renders a few of the ~85).
    let template: Handlebars.TemplateDelegate | undefined;
    return (context, options) => {
      template ??= env.template(new Function(`return ${ahead.spec};`)() as Parameters<typeof env.template>[0]);
      return template(context, options);
    };
  }
  return env.compile(source, COMPILE_OPTIONS);
}

function environmentFor(kind: string, templatesDir: string): KindEnvironment {
  const key = `${templatesDir}\0${kind}`;
  const cached = environments.get(key);
  if (cached) return cached;
  const env = createEnvironment();
  // Defaults first, then the user's folder: a user folder only needs the files it changes.
  const dirs = templatesDir === defaultTemplatesDir ? [defaultTemplatesDir] : [defaultTemplatesDir, templatesDir];
  for (const dir of dirs) {
    for (const partial of [
      ...partialFiles(join(dir, SHARED), true),
      ...partialFiles(join(dir, kind, 'partials'), false),
    ]) {
      env.registerPartial(partial.name, loadTemplate(env, partial.path));
    }
  }
  const created = { env, compiled: new Map<string, Handlebars.TemplateDelegate>() };
  environments.set(key, created);
  return created;
}

/**
 * Renders `templates/<kind>/<name>.sql.hbs`, or `templates/shared/<name>.sql.hbs` when the kind has none (the steps
 * rename and move share: indexes, constraints, validate, drop-indexes, drop-constraints), with `context`. Output is
 * not HTML-escaped (`noEscape`) and a missing context field is an error (`strict`), so a typo in a template never
 * renders as empty SQL. `templatesDir` overrides the package's templates file by file: its `<kind>/` file wins over
 * its `shared/` file, and either over the package's own.
 */
export function renderTemplate(
  kind: string,
  name: string,
  context: object,
  templatesDir: string = defaultTemplatesDir,
): string {
  const { env, compiled } = environmentFor(kind, templatesDir);
  let template = compiled.get(name);
  if (!template) {
    const file = `${name}.sql.hbs`;
    const candidates = [templatesDir, defaultTemplatesDir].flatMap((dir) => [
      join(dir, kind, file),
      join(dir, SHARED, file),
    ]);
    const path = candidates.find((candidate) => existsSync(candidate));
    if (!path) {
      throw new InputError(`template ${kind}/${file} not found in ${templatesDir}`, {
        hint: `copy it from ${join(defaultTemplatesDir, kind)} (or ${join(defaultTemplatesDir, SHARED)}) or remove the templates override`,
      });
    }
    template = loadTemplate(env, path);
    compiled.set(name, template);
  }
  return template(context);
}
