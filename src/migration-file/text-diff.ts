/**
 * Comparing a generated file's text on disk with what phasectl renders, as `generate` and `check` both do:
 * up to line endings, and naming the first line that differs. Pure.
 */

/** Line endings are the checkout's business (core.autocrlf), not a difference. */
export function normalizeLineEndings(text: string): string {
  return text.replace(/\r\n/g, '\n');
}

/** 1-based number of the first line that differs, or undefined when the texts are equal. */
export function firstDifferentLine(expected: string, actual: string): number | undefined {
  if (expected === actual) return undefined;
  const a = expected.split('\n');
  const b = actual.split('\n');
  for (let index = 0; index < Math.max(a.length, b.length); index += 1) {
    if (a[index] !== b[index]) return index + 1;
  }
  return 1;
}
