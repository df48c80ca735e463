/**
 * The package's own templates, compiled ahead of time. Empty here: `npm run build` replaces this module's output
 * (dist/render/precompiled-templates.js) with every templates/ file precompiled by scripts/precompile-templates.mjs.
 * Why: compiling the templates took ~20 % of a command's CPU (`status` and `migrate` render every step to compare them
 * with the shipped files), on every run. Each entry keeps the sha256 of the source it was compiled from, so a template
 * edited after the build is compiled at run time from the file instead (src/render/environment.ts).
 */
export interface PrecompiledTemplate {
  /** sha256 (hex) of the template source the spec was compiled from. */
  sha256: string;
  /** Handlebars.precompile's output (the JavaScript of an object literal), with noEscape and strict as at run time. */
  spec: string;
}

/** Keyed by the file's path under templates/, with `/` separators (`rename/partials/sync-function.hbs`). */
export const precompiledTemplates: Readonly<Record<string, PrecompiledTemplate>> = {};
