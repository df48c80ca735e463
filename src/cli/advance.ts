import type { Command } from 'commander';

/** Placeholder until the `advance` command lands. */
export function register(_program: Command): void {}
