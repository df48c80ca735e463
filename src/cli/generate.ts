import type { Command } from 'commander';

/** Placeholder until the `generate` command lands. */
export function register(_program: Command): void {}
