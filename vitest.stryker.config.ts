import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

// The test run Stryker drives (npm run test:mutation:code). Stryker's vitest runner forces worker threads,
// where process.chdir is not allowed: the in-process CLI tests of cli-workflow cannot run there. The demo
// tests exercise none of the mutated modules and only cost time. Instrumented code on a shared two-core
// machine is slow: the CLI-spawning tests get three times the usual timeout.
export default mergeConfig(
  base,
  defineConfig({
    test: {
      exclude: [
        'test/e2e/cli-workflow.test.ts',
        'test/e2e/demo-cli.test.ts',
        'test/integration/demo-run.test.ts',
        '**/node_modules/**',
      ],
      testTimeout: 180_000,
      setupFiles: ['test/support/stryker-child-mutant.ts'],
    },
  }),
);
