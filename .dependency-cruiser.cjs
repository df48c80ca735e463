/**
 * The boundaries of DESIGN.md's layout, checked by `npm run lint:deps` (part of `npm test`).
 * Each rule says which folder may not import what, and why.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-folder-cycles',
      severity: 'error',
      comment:
        'Folders depend on each other in one direction only (e.g. runner → backfill, never back). operations/ and ' +
        'dependents/ are one pure layer (dependents/ plugs views, functions, triggers and foreign keys into the ' +
        'change kinds and uses their step and naming helpers): a cycle between just those two is allowed; any cycle ' +
        'through a third folder is still reported from that folder.',
      scope: 'folder',
      from: { path: '^src/', pathNot: '^src/(operations|dependents)(/|$)' },
      to: { path: '^src/', circular: true },
    },
    {
      name: 'no-module-cycles',
      severity: 'error',
      comment: 'A module never imports itself through others.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'pure-core-no-driver',
      severity: 'error',
      comment:
        'operations/, spec/ and releases/ are pure (planned and tested without a database): no pg, kysely or commander.',
      from: { path: '^src/(operations|dependents|spec|releases)/' },
      to: { path: '(^|/)node_modules/(pg|pg-[^/]+|kysely|commander)/' },
    },
    {
      name: 'pure-core-no-io-folders',
      severity: 'error',
      comment:
        'operations/, spec/ and releases/ do not reach the folders that hold connections, run files or parse flags.',
      from: { path: '^src/(operations|dependents|spec|releases)/' },
      to: { path: '^src/(db|session|runner|backfill|catalog|commands|cli|check|fleet|demo)/' },
    },
    {
      name: 'cli-builds-no-sql',
      severity: 'error',
      comment:
        'cli/ parses flags and prints: it builds no SQL and reaches the database only through the library functions in commands/ (and demo/).',
      from: { path: '^src/cli/' },
      to: {
        path: [
          '(^|/)node_modules/(pg|kysely)/',
          '^src/(render|sql|session|runner|catalog|operations)/',
          '^src/db/(connect|embedded)',
        ],
      },
    },
    {
      name: 'render-no-database',
      severity: 'error',
      comment: 'render/ turns templates into text: it never touches the database.',
      from: { path: '^src/render/' },
      to: { path: ['(^|/)node_modules/kysely/', '^src/(db|session|runner|backfill|catalog|commands)/'] },
    },
    {
      name: 'library-not-cli',
      severity: 'error',
      comment: 'Only the CLI (and the package entry bin/) depends on cli/: the library never prints or parses flags.',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.build.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
