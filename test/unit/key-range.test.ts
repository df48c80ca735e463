import { describe, expect, test } from 'vitest';
import { integerRanges, sampledRanges } from '../../src/backfill/key-range.js';

const ends = (ranges: ReturnType<typeof integerRanges>) => ranges.map((range) => [range.after, range.upper]);

describe('cutting the key space into ranges', () => {
  test('integer keys by value: equal widths, chained, the last one ends at the upper key', () => {
    expect(ends(integerRanges('1', '6000', null, 3))).toEqual([
      [null, ['2000']],
      [['2000'], ['4000']],
      [['4000'], ['6000']],
    ]);
    expect(integerRanges('1', '6000', null, 3).map((range) => range.index)).toEqual([1, 2, 3]);
  });

  test('integer keys after a single-job run stopped: the ranges start after its last key', () => {
    expect(ends(integerRanges('1001', '3000', ['1000'], 2))).toEqual([
      [['1000'], ['2000']],
      [['2000'], ['3000']],
    ]);
  });

  test('fewer keys than jobs: no empty or repeated range', () => {
    expect(ends(integerRanges('5', '6', null, 4))).toEqual([
      [null, ['5']],
      [['5'], ['6']],
    ]);
    expect(ends(integerRanges('7', '7', null, 3))).toEqual([[null, ['7']]]);
  });

  test('bigint keys beyond 2^53 are cut exactly', () => {
    expect(ends(integerRanges('9007199254740993', '9007199254740996', null, 2))).toEqual([
      [null, ['9007199254740994']],
      [['9007199254740994'], ['9007199254740996']],
    ]);
  });

  test('other keys at the sample quantiles; equal cuts and the upper key merge', () => {
    const sample = [['a'], ['b'], ['c'], ['d'], ['e'], ['f']];
    expect(ends(sampledRanges(sample, ['z'], null, 3))).toEqual([
      [null, ['c']],
      [['c'], ['e']],
      [['e'], ['z']],
    ]);
    expect(ends(sampledRanges([['a'], ['a'], ['a']], ['a'], null, 3))).toEqual([[null, ['a']]]);
    expect(ends(sampledRanges([], ['z'], ['m'], 4))).toEqual([[['m'], ['z']]]);
  });

  test('composite keys compare whole', () => {
    const sample = [
      ['1', 'a'],
      ['1', 'b'],
      ['2', 'a'],
      ['2', 'b'],
    ];
    expect(ends(sampledRanges(sample, ['3', 'z'], null, 2))).toEqual([
      [null, ['2', 'a']],
      [
        ['2', 'a'],
        ['3', 'z'],
      ],
    ]);
  });
});
