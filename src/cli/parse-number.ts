import { InvalidArgumentError } from 'commander';

/** Commander option parser for a non-negative integer. */
export function integer(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`expected a whole number, got "${value}"`);
  return parsed;
}
