import type { Command } from 'commander';

/** Placeholder until the `verify` command lands. */
export function register(_program: Command): void {}
