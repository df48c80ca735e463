/**
 * Turns the `check.sourceGlobs` / `check.ignoreGlobs` of phases.yaml into git pathspecs.
 * git's glob magic knows `*`, `**` and `?` but not `{a,b}`, so braces are expanded here.
 */

/** `**\/*.{ts,js}` → [`**\/*.ts`, `**\/*.js`]; nested and repeated groups are expanded too. */
export function expandBraces(glob: string): string[] {
  const open = glob.indexOf('{');
  if (open === -1) return [glob];
  let depth = 0;
  for (let index = open; index < glob.length; index += 1) {
    const char = glob[index];
    if (char === '{') depth += 1;
    else if (char === '}' && --depth === 0) {
      const head = glob.slice(0, open);
      const tail = glob.slice(index + 1);
      return splitTopLevel(glob.slice(open + 1, index)).flatMap((option) => expandBraces(`${head}${option}${tail}`));
    }
  }
  return [glob]; // unbalanced: taken literally
}

function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let index = 0; index < body.length; index += 1) {
    const char = body[index];
    if (char === '{') depth += 1;
    else if (char === '}') depth -= 1;
    else if (char === ',' && depth === 0) {
      parts.push(body.slice(start, index));
      start = index + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}

/**
 * Pathspecs selecting the project's source files: each include glob and each exclusion, relative to
 * the project directory (`prefix` is its path from the repository root, with a trailing slash or empty).
 */
export function sourcePathspecs(settings: { sourceGlobs: string[]; ignoreGlobs: string[] }, prefix: string): string[] {
  const include = settings.sourceGlobs.flatMap(expandBraces).map((glob) => `:(glob)${prefix}${glob}`);
  const exclude = settings.ignoreGlobs.flatMap(expandBraces).map((glob) => `:(exclude,glob)${prefix}${glob}`);
  // Only exclusions would mean "everything but": with no include glob nothing is searched.
  return include.length === 0 ? [] : [...include, ...exclude];
}
