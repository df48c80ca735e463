import { shortDigest } from '../migration-file/provenance.js';
import { durationMs } from '../spec/schema.js';
import type { Change, PhasesFile } from '../spec/types.js';

/**
 * The `inputs=` digest of a change's generated files (src/migration-file/provenance.ts): what phases.yaml says
 * about the change and the generation settings the team declared, never what a phasectl version makes of them.
 * So it stays the same when phasectl is upgraded and changes when the change or the settings do.
 *
 * Canonical form: the change as phases.yaml records it, minus `releases` (advancing a later phase changes no
 * earlier file; each file's own release is in its name and header), as JSON with keys sorted and empty values
 * (undefined, [] and {}) left out, so that a default a later phasectl fills in (`indexes: []`) changes nothing.
 * Settings: `lockTimeout` and `statementTimeout` as declared in phases.yaml, except that a declared value equal to
 * the baseline below (in any spelling: `2s`, `2000ms`) counts as not declared: writing the default out is no change.
 * Not the generator's defaults: a later version may change one, which is the generator's business. The team's own
 * templates are left out, like
 * phasectl's: they are the generator's side (a file this version wrote is compared by its bytes anyway), and
 * editing one must not touch the header of every file already applied.
 */
export function changeInputsDigest(change: Change, spec: PhasesFile): string {
  const { releases: _releases, ...record } = change;
  const inputs = {
    change: record,
    settings: {
      lockTimeout: declared(spec.migrations?.lockTimeout, DIGEST_BASELINE.lockTimeout),
      statementTimeout: declared(spec.migrations?.statementTimeout, DIGEST_BASELINE.statementTimeout),
    },
  };
  return shortDigest(canonicalJson(inputs) ?? '{}');
}

/**
 * The timeouts (ms) phasectl writes when phases.yaml declares none, fixed here for good: the digest of a file
 * rendered without a declaration must stay what it is even if a later version changes its defaults
 * (src/operations/settings.ts), and a team that then writes the old default out keeps its files' inputs.
 */
export const DIGEST_BASELINE = { lockTimeout: 2_000, statementTimeout: 30_000 } as const;

/** A declared timeout as the digest sees it: left out when absent or equal to the baseline, else as written. */
function declared(text: string | undefined, baselineMs: number): string | undefined {
  return text === undefined || durationMs(text) === baselineMs ? undefined : text;
}

/**
 * The change without the facts `plan refresh` records again while it is in flight (its `dependents:`: views,
 * generated columns, foreign keys, functions, triggers), or undefined when it has none. A file whose text is the
 * same without them is stamped with the inputs of this lean change (src/generate/files.ts), so a refresh never
 * touches the header of a file it does not change, such as one already applied.
 */
export function withoutRefreshedFacts(change: Change): Change | undefined {
  // An empty record (what plan writes when nothing else uses the column) is left out of the digest already:
  // no lean change, so the files are not rendered a second time for nothing.
  if (canonicalJson(change.dependents) === undefined) return undefined;
  const { dependents: _dependents, ...lean } = change;
  return lean as Change;
}

/**
 * The change with only the facts phase 1 reads from its `dependents:` (the referencing foreign keys it copies, the
 * functions its expand refuses while unchanged: `wholeRow`), which `plan refresh` keeps as they are once phase 1 is
 * advanced; undefined unless the change records such a function (older records keep the stamps they had). A phase 1
 * file that reads the same with only these is stamped with their inputs: a later refresh leaves its header alone.
 */
export function withPhaseOneFacts(change: Change): Change | undefined {
  const functions = (change.dependents?.functions ?? []).filter((fn) => fn.wholeRow !== undefined);
  if (functions.length === 0 || change.dependents === undefined) return undefined;
  return {
    ...change,
    dependents: {
      foreignKeys: change.dependents.foreignKeys,
      functions: functions.map(({ name, fingerprint, wholeRow }) => ({
        name,
        fingerprint,
        namesColumn: false,
        wholeRow,
      })),
      triggers: [],
    },
  } as Change;
}

/** JSON with object keys in code-point order and empty values left out; undefined when `value` is empty. */
export function canonicalJson(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    return `[${value.map((item) => canonicalJson(item) ?? 'null').join(',')}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.keys(value)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
      .flatMap((key) => {
        const text = canonicalJson((value as Record<string, unknown>)[key]);
        return text === undefined ? [] : [`${JSON.stringify(key)}:${text}`];
      });
    return entries.length === 0 ? undefined : `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
