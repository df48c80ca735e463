import { beforeAll } from 'vitest';

/**
 * Stryker only (vitest.stryker.config.ts): hands the active mutant to the CLI processes a test spawns
 * (`node --import tsx …`), whose instrumented code reads it from __STRYKER_ACTIVE_MUTANT__. Registered after
 * Stryker's own setup file, so the mutant is already set when this runs.
 */
beforeAll(() => {
  const active = (globalThis as { __stryker__?: { activeMutant?: string } }).__stryker__?.activeMutant;
  if (active === undefined) delete process.env.__STRYKER_ACTIVE_MUTANT__;
  else process.env.__STRYKER_ACTIVE_MUTANT__ = String(active);
});
