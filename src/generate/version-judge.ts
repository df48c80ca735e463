/**
 * Judging a generated file on disk whose text differs from what this phasectl renders: it may have been written by
 * another phasectl version (templates change between versions), and then what its writer promised decides, not a
 * byte comparison (docs/design-notes.md, "Files written by another phasectl version"). Pure.
 */
import { readProvenance, type ReadProvenance } from '../migration-file/provenance.js';
import { firstDifferentLine, normalizeLineEndings } from '../migration-file/text-diff.js';
import type { PhaseNumber, ReleaseName } from '../spec/types.js';

/** Which phase a generated file belongs to, and the release phases.yaml puts that phase in (if any). */
export interface FileOrigin {
  changeId: string;
  phase: PhaseNumber;
  release?: ReleaseName;
}

/**
 * `kept`: the text on disk stays (generate does not rewrite it; the checks accept it), with a `note` (another
 * version wrote it and its digests hold) or a `warning` (an older phasectl wrote it without digests).
 * `refused`: it may not stay as it is; `message` says why, `fix` what to do.
 */
export type Judgement =
  | { kind: 'kept'; level: 'note' | 'warning'; generator?: string; restamped?: boolean; message: string }
  | { kind: 'refused'; message: string; fix: string; line?: number };

const REGENERATE = 'run `phasectl generate` and commit the result (generated files are never edited by hand)';

/**
 * The judgement on `actual`, the text on disk, against `expected`, what this phasectl renders (stamped with its
 * provenance). Undefined when there is nothing to add to a byte comparison: the texts are equal up to line
 * endings, or the file on disk claims no other version (this version's, or not phasectl's) and is not kept.
 */
export function judgeGeneratedFile(
  path: string,
  expected: string,
  actual: string,
  origin: FileOrigin,
): Judgement | undefined {
  const want = normalizeLineEndings(expected);
  const have = normalizeLineEndings(actual);
  if (want === have) return undefined;
  const ours = readProvenance(want);
  if (!ours) return undefined;
  const line = firstDifferentLine(want, have) ?? 1;
  const differs = `differs from what phasectl generates from phases.yaml (from line ${line} on)`;
  const theirs = readProvenance(have);
  if (theirs?.intact && theirs.bare === ours.bare && theirs.provenance.inputs !== ours.provenance.inputs) {
    // The very text this version renders, stamped from another record of the change: a fact the file does not read
    // changed since (`plan refresh` recorded a view, say). Rewriting only the stamp would change the checksum of a
    // file a database may have applied, for nothing.
    return {
      kind: 'kept',
      level: 'note',
      restamped: true,
      message: `kept as written: its text is what phasectl ${ours.provenance.generator} renders; only facts of change ${origin.changeId} it does not read changed since it was written`,
    };
  }
  if (theirs) return judgeOtherVersion(path, ours, theirs, origin, { differs, line });
  // No provenance: written before phasectl recorded it (or its fields were edited away). Kept when it names the
  // step its file name says and its phase is in a release; otherwise a plain difference, as before.
  if (origin.release === undefined || identity(have) !== identity(ours.bare)) return undefined;
  const version = ours.provenance.generator;
  if (have === ours.bare) {
    return {
      kind: 'kept',
      level: 'note',
      message: `written by a phasectl older than ${version} (no version in its header); kept as written: its text is what ${version} generates`,
    };
  }
  return {
    kind: 'kept',
    level: 'warning',
    message:
      `written by a phasectl older than ${version}, which recorded no version or digest, and ${differs}; ` +
      `kept as written, because phase ${origin.phase} of ${origin.changeId} is in release ${origin.release} (what shipped is never rewritten)`,
  };
}

/** A file whose header records its writer: kept when another version wrote it and both digests hold. */
function judgeOtherVersion(
  path: string,
  ours: ReadProvenance,
  theirs: ReadProvenance,
  origin: FileOrigin,
  { differs, line }: { differs: string; line: number },
): Judgement | undefined {
  const writer = theirs.provenance.generator;
  if (writer === ours.provenance.generator) {
    // This very version wrote it from another record of the change, and its phase is in a release: it may have
    // shipped. `generate` still rewrites it (the usual loop before a release is deployed) but says so.
    if (origin.release !== undefined && theirs.intact && theirs.provenance.inputs !== ours.provenance.inputs)
      return editedRecord(path, origin, { differs, line }, writer);
    // Otherwise a plain difference, judged by bytes as always (stale or edited).
    return undefined;
  }
  if (identity(theirs.bare) !== identity(ours.bare)) {
    return {
      kind: 'refused',
      message: `its header names another step than its file name (${identity(theirs.bare)})`,
      fix: REGENERATE,
      line: 1,
    };
  }
  if (!theirs.intact) {
    return {
      kind: 'refused',
      message: `${differs}, and its text no longer matches the digest phasectl ${writer} recorded in its header: it was edited by hand`,
      fix: shippedFix(path, origin, 'restore it from git'),
      line,
    };
  }
  if (theirs.provenance.inputs !== ours.provenance.inputs) return editedRecord(path, origin, { differs, line }, writer);
  if (origin.release === undefined) {
    // A definition of a phase no release holds yet: nothing ran it, so it shows what this version will install.
    return {
      kind: 'refused',
      message: `${differs}: phase ${origin.phase} of ${origin.changeId} is in no release yet, so phasectl renders it anew`,
      fix: REGENERATE,
      line,
    };
  }
  return {
    kind: 'kept',
    level: 'note',
    generator: writer,
    message: `written by phasectl ${writer} (this is ${ours.provenance.generator}); kept as written: its digest and its inputs match phases.yaml`,
  };
}

/** A file rendered from another record of its change than phases.yaml holds now (phases.yaml was edited). */
function editedRecord(
  path: string,
  origin: FileOrigin,
  { differs, line }: { differs: string; line: number },
  writer: string,
): Judgement {
  return {
    kind: 'refused',
    message:
      `${differs}: phasectl ${writer} generated it from another record of change ${origin.changeId} ` +
      '(or other `migrations:` timeouts) than phases.yaml holds now',
    fix: shippedFix(path, origin, 'restore phases.yaml as it was (`git log -p -- phases.yaml`)'),
    line,
  };
}

/** The fix for a file that may have shipped: `first`, or regenerate it if no database applied it yet. */
function shippedFix(path: string, origin: FileOrigin, first: string): string {
  const where =
    origin.release === undefined ? '' : ` (phase ${origin.phase} of ${origin.changeId}, release ${origin.release})`;
  return (
    `${first}: databases that applied ${path}${where} ran it as it was; to change an applied phase, roll it back first. ` +
    'If no database applied it yet, `phasectl generate` rewrites it from phases.yaml'
  );
}

/**
 * The part of a machine line that names the file's step: everything but `transaction=` and `action=` (a later
 * version may run a step differently; its name, phase, direction and release are fixed by the file name).
 */
function identity(text: string): string {
  const first = text.split('\n', 1)[0] ?? '';
  return first.replace(/ transaction=\S+ action=\S+\s*$/, '').trimEnd();
}

/** Kept files as the lines a command prints: one note per writing version, one warning per file. */
export function keptSummary(files: { path: string; judgement?: Judgement }[]): {
  notes: string[];
  warnings: { path: string; message: string }[];
} {
  const byVersion = new Map<string, number>();
  let olderIdentical = 0;
  let restamped = 0;
  const warnings: { path: string; message: string }[] = [];
  for (const file of files) {
    const judgement = file.judgement;
    if (judgement?.kind !== 'kept') continue;
    if (judgement.level === 'warning') warnings.push({ path: file.path, message: judgement.message });
    else if (judgement.restamped) restamped += 1;
    else if (judgement.generator === undefined) olderIdentical += 1;
    else byVersion.set(judgement.generator, (byVersion.get(judgement.generator) ?? 0) + 1);
  }
  const notes = [...byVersion].map(
    ([generator, count]) =>
      `${count} generated file(s) written by phasectl ${generator} kept as written: their digests and inputs match phases.yaml`,
  );
  if (olderIdentical > 0)
    notes.push(
      `${olderIdentical} generated file(s) written by an older phasectl (no version in their header) kept as written: their text is what this version generates`,
    );
  if (restamped > 0)
    notes.push(
      `${restamped} generated file(s) kept as written: their text is what this version renders; only facts of their change they do not read changed since (e.g. \`plan refresh\`)`,
    );
  return { notes, warnings };
}
