// Stryker (mutation testing of the TypeScript code): `npm run test:mutation:code`.
// docs/mutation-testing.md has the scores, the accepted survivors and how to run one module.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.stryker.config.ts', related: true },
  // The pure safety modules against the unit tests: tens of minutes. Adding the git-backed check suites
  // (--testFiles 'test/unit/**/*.test.ts,test/integration/check-*.test.ts') covers check.ts and git.ts but takes
  // hours on two cores. The database modules have their own config: stryker.db.config.mjs (npm run test:mutation:db).
  mutate: ['src/releases/**/*.ts', 'src/check/**/*.ts', 'src/commands/check.ts'],
  testFiles: ['test/unit/**/*.test.ts'],
  // Each mutant runs only the tests that reached it in the initial run.
  coverageAnalysis: 'perTest',
  // A module-level mutant would need the whole suite per mutant; reported as ignored instead.
  ignoreStatic: true,
  // Two cores shared with other work: two test runners, each with its own PostgreSQL from the global setup.
  concurrency: 2,
  timeoutMS: 30_000,
  // The initial run goes through every related test file on one thread (the PostgreSQL suites take minutes).
  dryRunTimeoutMinutes: 45,
  timeoutFactor: 2,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false },
  tempDirName: '.stryker-tmp',
  // dist/ stays in the sandbox (built by the npm script, not mutated) for tests that run bin/phasectl.js.
  ignorePatterns: ['bench/results.json', 'reports', '.phasectl-tmp', '.scratch', '.stryker-tmp'],
  cleanTempDir: 'always',
};
