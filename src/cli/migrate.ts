import type { Command } from 'commander';

/** Placeholder until the `migrate` command lands. */
export function register(_program: Command): void {}
