/**
 * Who wrote a generated file, from what, and whether it is still as written: three fields at the end of its
 * machine line (the first line), ` generator=<phasectl version> inputs=<digest> digest=<digest>`.
 *
 * - `generator`: the phasectl version that rendered the file.
 * - `inputs`: a digest of what the file was rendered from, the change's record in phases.yaml and the declared
 *   generation settings (src/generate/inputs-digest.ts), in a form that does not depend on the phasectl version.
 * - `digest`: a digest of the whole file with this field left out, so an edit anywhere (body or header) shows.
 *
 * They let a later phasectl accept a file an earlier one wrote, whose text it would now write differently,
 * without comparing bytes (docs/design-notes.md, "Files written by another phasectl version"). The digests catch
 * accidents (an edit, a changed change), not forgery: whoever can edit the file can recompute them.
 * Files written before this feature have none of the fields; their headers still parse. Pure.
 */
import { createHash } from 'node:crypto';

export interface Provenance {
  generator: string;
  inputs: string;
  digest: string;
}

/** Hex digits kept of each sha256: 64 bits, plenty to tell an edited file from an untouched one. */
const DIGEST_HEX = 16;

/** The fields as a regular expression (no anchors), for header.ts's machine-line patterns. */
export const PROVENANCE_FIELDS = ` generator=[0-9A-Za-z][0-9A-Za-z.+_-]* inputs=[0-9a-f]{${DIGEST_HEX}} digest=[0-9a-f]{${DIGEST_HEX}}`;

const TRAILING_FIELDS = new RegExp(
  ` generator=([0-9A-Za-z][0-9A-Za-z.+_-]*) inputs=([0-9a-f]{${DIGEST_HEX}}) digest=([0-9a-f]{${DIGEST_HEX}})$`,
);

/** The first `DIGEST_HEX` hex digits of the sha256 of `text`. */
export function shortDigest(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, DIGEST_HEX);
}

function splitFirstLine(text: string): [string, string] {
  const end = text.indexOf('\n');
  return end < 0 ? [text, ''] : [text.slice(0, end), text.slice(end)];
}

/** `text` (a file rendered with its bare machine line) with the three fields appended to that line. */
export function stampProvenance(text: string, generator: string, inputs: string): string {
  const [first, rest] = splitFirstLine(text);
  const unsealed = `${first} generator=${generator} inputs=${inputs}`;
  return `${unsealed} digest=${shortDigest(`${unsealed}${rest}`)}${rest}`;
}

/** What a file's machine line records, with the text as it was before stamping (`bare`), and whether it is intact. */
export interface ReadProvenance {
  provenance: Provenance;
  /** The file without the three fields: what the same generator wrote before it stamped them. */
  bare: string;
  /** True when the file is exactly as its generator wrote it (its digest matches). */
  intact: boolean;
}

/** The provenance fields of `text`'s first line, or undefined when it has none (not phasectl's, or older). */
export function readProvenance(text: string): ReadProvenance | undefined {
  const [first, rest] = splitFirstLine(text);
  const match = TRAILING_FIELDS.exec(first);
  if (!match) return undefined;
  const [fields, generator, inputs, digest] = match as unknown as [string, string, string, string];
  const line = first.slice(0, first.length - fields.length);
  const unsealed = `${line} generator=${generator} inputs=${inputs}`;
  return {
    provenance: { generator, inputs, digest },
    bare: `${line}${rest}`,
    intact: shortDigest(`${unsealed}${rest}`) === digest,
  };
}
