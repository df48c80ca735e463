import type { Command } from 'commander';

/** Placeholder until the `rollback` command lands. */
export function register(_program: Command): void {}
