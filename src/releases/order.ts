/**
 * The order of release names, as `advance` checks it (pure). Names are split into runs of digits and runs of
 * other characters ("1.10.0-rc2" → 1 . 10 . 0 -rc 2); runs of digits compare as numbers, the rest as text (by code
 * point), and a name that is a prefix of another sorts first. So 1.9.0 < 1.10.0 and 2024.06 < 2024.11, but
 * semver pre-releases do not sort before their release (1.0.0 < 1.0.0-rc1): teams with such names pass
 * `--force-order`.
 */
export function compareReleaseNames(a: string, b: string): number {
  const left = runs(a);
  const right = runs(b);
  for (let index = 0; index < Math.min(left.length, right.length); index++) {
    const x = left[index]!;
    const y = right[index]!;
    const bothNumbers = /^\d/.test(x) && /^\d/.test(y);
    const order = bothNumbers ? compareDigits(x, y) : x < y ? -1 : x > y ? 1 : 0;
    if (order !== 0) return order;
  }
  return left.length - right.length;
}

function runs(name: string): string[] {
  return name.match(/\d+|\D+/g) ?? [];
}

/** Compares digit strings of any length as numbers (no precision limit). */
function compareDigits(x: string, y: string): number {
  const a = x.replace(/^0+(?=\d)/, '');
  const b = y.replace(/^0+(?=\d)/, '');
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}
