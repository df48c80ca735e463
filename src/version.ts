import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * phasectl's own version, from its package.json (src/ and dist/ both sit one level below it). Generated files
 * record it in their header (src/migration-file/provenance.ts), so a later phasectl knows who wrote them.
 */
export function phasectlVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
  return cached;
}
