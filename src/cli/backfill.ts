import type { Command } from 'commander';

/** Placeholder until the `backfill` command lands. */
export function register(_program: Command): void {}
