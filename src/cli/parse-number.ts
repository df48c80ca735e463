import { InvalidArgumentError } from 'commander';
import { describeRange, outOfRange, type OptionBound } from '../option-bounds.js';

/** Commander option parser for a whole number inside `range` (src/option-bounds.ts): checked before anything runs. */
export function bounded(range: OptionBound): (value: string) => number {
  return (value) => {
    const parsed = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
    const problem = outOfRange(range, parsed);
    // Commander prints this after "option '<flag>' argument '<value>' is invalid." and exits 2.
    if (problem)
      throw new InvalidArgumentError(
        `${range.flag} ${value} is out of range: ${problem}\n  fix: give ${range.flag} a whole number in ${describeRange(range)}`,
      );
    return parsed;
  };
}

/** ` (1–600000 ms)`: the range appended to a flag's help text. */
export function rangeNote(range: OptionBound): string {
  return ` (${describeRange(range)})`;
}
