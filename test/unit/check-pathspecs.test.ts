import { describe, expect, it } from 'vitest';
import { expandBraces, sourcePathspecs } from '../../src/check/pathspecs.js';

describe('expandBraces', () => {
  it('expands one group, several groups and nested groups', () => {
    expect(expandBraces('**/*.{ts,js}')).toEqual(['**/*.ts', '**/*.js']);
    expect(expandBraces('{src,lib}/*.{ts,py}')).toEqual(['src/*.ts', 'src/*.py', 'lib/*.ts', 'lib/*.py']);
    expect(expandBraces('*.{ts,{m,c}js}')).toEqual(['*.ts', '*.mjs', '*.cjs']);
  });

  it('leaves globs without braces, and unbalanced braces, as they are', () => {
    expect(expandBraces('db/**')).toEqual(['db/**']);
    expect(expandBraces('weird{.ts')).toEqual(['weird{.ts']);
  });

  // Found by mutation testing: a comma after a nested group, and a group one character in.
  it('splits on the commas after a nested group, wherever the group starts', () => {
    expect(expandBraces('{{a,b}x,c}')).toEqual(['ax', 'bx', 'c']);
    expect(expandBraces('a{b,c}')).toEqual(['ab', 'ac']);
  });
});

describe('sourcePathspecs', () => {
  it('makes glob pathspecs relative to the project folder, exclusions last', () => {
    expect(sourcePathspecs({ sourceGlobs: ['**/*.{ts,sql}'], ignoreGlobs: ['db/**'] }, 'app/')).toEqual([
      ':(glob)app/**/*.ts',
      ':(glob)app/**/*.sql',
      ':(exclude,glob)app/db/**',
    ]);
  });

  it('searches nothing when there is no include glob', () => {
    expect(sourcePathspecs({ sourceGlobs: [], ignoreGlobs: ['db/**'] }, '')).toEqual([]);
  });
});
