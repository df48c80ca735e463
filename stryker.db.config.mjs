// Stryker on the modules that write to the database: `npm run test:mutation:db`. Their tests run on a real
// PostgreSQL, so a run takes hours on two cores: narrow it with --mutate (docs/mutation-testing.md).
import base from './stryker.config.mjs';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  ...base,
  mutate: [
    'src/runner/**/*.ts',
    'src/session/**/*.ts',
    'src/backfill/**/*.ts',
    'src/commands/migrate.ts',
    'src/commands/rollback.ts',
  ],
  testFiles: [
    'test/unit/runner-pure.test.ts',
    'test/unit/backfill-batching.test.ts',
    'test/unit/split-statements.test.ts',
    'test/integration/runner-*.test.ts',
    'test/integration/backfill-*.test.ts',
    'test/hardening/security.test.ts',
    'test/hardening/server-version.test.ts',
    'test/e2e/migrate-cli.test.ts',
  ],
};
