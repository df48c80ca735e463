import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { isMap, isNode, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { InputError } from '../errors.js';
import { didYouMean } from './closest-name.js';
import { knownKeysAt, phasesFileSchema } from './schema.js';
import type { PhasesFile } from './types.js';

export type DocumentPath = (string | number)[];

/** A phases.yaml read and validated, with its YAML document kept so edits preserve comments. */
export interface LoadedPhases {
  file: string;
  text: string;
  spec: PhasesFile;
  document: Document;
  lineCounter: LineCounter;
  /** 1-based line and column of the node at `path` (or of its nearest existing parent). */
  locate(path: DocumentPath): { line: number; column: number } | undefined;
}

/**
 * The largest phases.yaml phasectl reads (1,000 changes take about 0.6 MB). A bigger file is refused rather than
 * parsed: a 10 MB one took 1.5 GB of memory in `check`, which reads it at several git revisions.
 */
export const MAX_PHASES_FILE_BYTES = 4 * 1024 * 1024;

/** Problems listed in one error; the rest are counted. */
const MAX_LISTED_PROBLEMS = 10;

/** Reads, parses and validates a phases.yaml. A missing file says to run `phasectl init`. */
export async function loadPhasesFile(file: string): Promise<LoadedPhases> {
  let text: string;
  try {
    const size = (await stat(file)).size;
    if (size > MAX_PHASES_FILE_BYTES) throw tooLarge(file, size);
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`no ${basename(file)} in ${dirname(file)}`, {
        hint: 'run `phasectl init` to create one, or pass --project <dir> (run phasectl from the project root)',
      });
    }
    throw error;
  }
  return parsePhasesText(text, file);
}

/**
 * Parses and validates phases.yaml text (pure). Any problem is one InputError located at
 * file:line:column of the offending node, with a hint saying the fix.
 */
export function parsePhasesText(text: string, file: string): LoadedPhases {
  if (Buffer.byteLength(text, 'utf8') > MAX_PHASES_FILE_BYTES) throw tooLarge(file, Buffer.byteLength(text, 'utf8'));
  try {
    return parseWithinLimits(text, file);
  } catch (error) {
    // Deeply nested YAML exhausts the parser's stack: bad input, not a crash.
    if (error instanceof RangeError) {
      throw new InputError('phases.yaml nests too deeply to read', {
        hint: 'phases.yaml is a list of changes a few levels deep: remove the deeply nested value',
        location: { file, line: 1, column: 1 },
      });
    }
    throw error;
  }
}

function tooLarge(file: string, size: number): InputError {
  return new InputError(
    `${basename(file)} is ${(size / 1024 / 1024).toFixed(1)} MB, more than the ${MAX_PHASES_FILE_BYTES / 1024 / 1024} MB phasectl reads`,
    {
      hint: 'archive changes whose phase 3 has shipped, or split the project; is this really a phases.yaml?',
      location: { file },
    },
  );
}

function parseWithinLimits(text: string, file: string): LoadedPhases {
  const { document, lineCounter, locate, locateOffset } = parsePhasesDocument(text);
  const syntaxError = document.errors[0];
  if (syntaxError) {
    const { line, column } = locateOffset(syntaxError.pos[0]);
    throw new InputError(
      `phases.yaml is not valid YAML: ${syntaxError.message.replace(/ at line \d+, column \d+.*$/s, '')}`,
      {
        hint: 'fix the YAML syntax at this position (indentation, a missing ":" or an unclosed quote or bracket)',
        location: { file, line, column },
      },
    );
  }
  if (document.contents === null) {
    // Only comments or blank lines: point at the end of the file, where the content should start.
    const end = locateOffset(text.length);
    throw new InputError('phases.yaml has no content (only comments or blank lines)', {
      hint: 'start it with `version: 1` and a `changes:` list, or run `phasectl init` to write a commented one',
      location: { file, line: end?.line ?? 1, column: end?.column ?? 1 },
    });
  }
  let raw: unknown;
  try {
    raw = document.toJS() ?? {};
  } catch (error) {
    // An alias (`*name`) whose anchor (`&name`) is missing: yaml throws a ReferenceError while resolving it.
    if (!(error instanceof ReferenceError)) throw error;
    if (/resource exhaustion/i.test(error.message)) {
      throw new InputError('phases.yaml uses too many aliases (an alias that expands to a huge value)', {
        hint: 'write the values out instead of nesting aliases (`*name`) of aliases',
        location: { file, line: 1, column: 1 },
      });
    }
    const alias = /\*([^\s,\]}]+)/.exec(text);
    const where = alias ? locateOffset(alias.index) : undefined;
    throw new InputError(`phases.yaml uses an alias ${alias ? `*${alias[1]} ` : ''}whose anchor is not defined`, {
      hint: 'define the anchor (`&name`) before the alias, or write the value out in full',
      location: { file, line: where?.line ?? 1, column: where?.column ?? 1 },
    });
  }
  const result = phasesFileSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const described = describeIssue(issue, document, raw);
      const position = described.keyNode?.range
        ? locateOffset(described.keyNode.range[0])
        : locate(issue.path as DocumentPath);
      return { ...described, position, isTypo: issue.code === 'unrecognized_keys' };
    });
    // An unknown key usually explains a "missing key" beside it (`tabel:` for `table:`): show the typo first.
    problems.sort((a, b) => Number(b.isTypo) - Number(a.isTypo));
    const [first, ...rest] = problems;
    const listed = rest.slice(0, MAX_LISTED_PROBLEMS - 1).map((problem) => {
      const where = problem.position ? `${file}:${problem.position.line}:${problem.position.column}: ` : '';
      return `\n  also: ${where}${problem.message} (fix: ${problem.hint})`;
    });
    const unlisted = rest.length - listed.length;
    throw new InputError(
      `${first!.message}${listed.join('')}${unlisted > 0 ? `\n  … and ${unlisted} more problem${unlisted === 1 ? '' : 's'}` : ''}`,
      {
        hint: first!.hint,
        location: { file, line: first!.position?.line, column: first!.position?.column },
      },
    );
  }
  return { file, text, spec: result.data as PhasesFile, document, lineCounter, locate };
}

/**
 * The YAML document of phases.yaml text with its position lookups, not validated (pure). `locate(path)` gives
 * the 1-based line and column of the node at `path`, or of its nearest existing parent.
 */
export function parsePhasesDocument(text: string): {
  document: Document;
  lineCounter: LineCounter;
  locate: (path: DocumentPath) => { line: number; column: number } | undefined;
  locateOffset: (offset: number) => { line: number; column: number };
} {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const locateOffset = (offset: number) => {
    const position = lineCounter.linePos(offset);
    return { line: position.line, column: position.col };
  };
  const locate = (path: DocumentPath) => {
    const node = nearestNode(document, path);
    return node?.range ? locateOffset(node.range[0]) : undefined;
  };
  return { document, lineCounter, locate, locateOffset };
}

/** Where the key of the map entry at `path` is written (errors about a key point at the key, not its value). */
export function locateKey(loaded: LoadedPhases, path: DocumentPath): { line: number; column: number } | undefined {
  const node = keyNode(loaded.document, path);
  if (!node?.range) return loaded.locate(path);
  const position = loaded.lineCounter.linePos(node.range[0]);
  return { line: position.line, column: position.col };
}

function keyNode(document: Document, path: DocumentPath): Node | undefined {
  const last = path.at(-1);
  if (typeof last !== 'string') return undefined;
  const holder = path.length === 1 ? document.contents : document.getIn(path.slice(0, -1), true);
  if (!isMap(holder)) return undefined;
  const pair = holder.items.find((item) => isNode(item.key) && (item.key as { value?: unknown }).value === last);
  return isNode(pair?.key) ? pair.key : undefined;
}

/** The node at `path`, or its nearest ancestor that exists (a missing key points at its parent). */
function nearestNode(document: Document, path: DocumentPath): Node | undefined {
  for (let length = path.length; length >= 0; length--) {
    const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
    if (isNode(node)) return node;
  }
  return undefined;
}

/** `changes[0].rename.to` for messages. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (text, part) => (typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${String(part)}` : String(part)),
    '',
  );
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): { found: boolean; value: unknown } {
  let value: unknown = raw;
  for (const part of path) {
    if (value === null || typeof value !== 'object' || !(part in (value as object)))
      return { found: false, value: undefined };
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return { found: true, value };
}

function describeIssue(
  issue: z.core.$ZodIssue,
  document: Document,
  raw: unknown,
): { message: string; hint: string; keyNode?: Node } {
  const path = issue.path;
  const where = formatPath(path) || 'the top level';
  const customHint = (issue as { params?: { hint?: string } }).params?.hint;
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!;
    const known = knownKeysAt(path as DocumentPath) ?? [];
    const holder = path.length === 0 ? document.contents : document.getIn(path as DocumentPath, true);
    const pair = isMap(holder)
      ? holder.items.find((item) => isNode(item.key) && (item.key as { value?: unknown }).value === key)
      : undefined;
    if (key === '<<') {
      return {
        message: `a YAML merge key (<<) in ${where}: phases.yaml takes no merge keys`,
        hint: `write the keys out in ${where} (anchors and aliases of whole values are fine)`,
        keyNode: isNode(pair?.key) ? pair.key : undefined,
      };
    }
    const suggestion = didYouMean(key, known);
    return {
      message: `unknown key "${key}" in ${where}${suggestion}`,
      hint: suggestion
        ? `rename it to "${suggestion.match(/"(.*)"/)?.[1]}"`
        : `remove it; ${where} accepts: ${known.join(', ')}`,
      keyNode: isNode(pair?.key) ? pair.key : undefined,
    };
  }
  const { found, value } = valueAt(raw, path);
  const key = path.at(-1);
  if (!found && issue.code === 'invalid_type') {
    const parent = formatPath(path.slice(0, -1)) || 'the top level';
    return {
      message: `missing key "${String(key)}" in ${parent}`,
      hint: `add \`${String(key)}: …\` to ${parent} (the phases.yaml format: docs/internals.md in the phasectl package)`,
    };
  }
  const shown = typeof value === 'string' ? `"${value}"` : JSON.stringify(value);
  if (
    issue.code === 'invalid_type' &&
    typeof value === 'number' &&
    (key === 'phase1' || key === 'phase2' || key === 'phase3' || path[0] === 'releases')
  ) {
    return { message: `${where} is the number ${shown}, not a release name`, hint: `quote it: "${String(value)}"` };
  }
  if (issue.code === 'invalid_type') {
    return {
      message: `${where} must be ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'a mapping' : `a ${issue.expected}`}, found ${value === null ? 'nothing' : shown}`,
      hint:
        customHint ??
        `write ${where} as ${issue.expected === 'array' ? 'a list' : issue.expected === 'object' ? 'a mapping of keys' : `a ${issue.expected}`}`,
    };
  }
  if (issue.code === 'invalid_value') {
    const allowed = issue.values.map((allowedValue) => JSON.stringify(allowedValue)).join(', ');
    return { message: `${where} is ${shown}, must be one of ${allowed}`, hint: `use one of ${allowed}` };
  }
  if (issue.code === 'custom') return { message: issue.message, hint: customHint ?? 'fix the value' };
  return { message: `${where} ${shown} ${issue.message}`, hint: customHint ?? hintForKey(String(key)) };
}

function hintForKey(key: string): string {
  switch (key) {
    case 'id':
      return 'use lower-case letters, digits and "-", at most 40 characters, e.g. users-email-to-contact-email';
    case 'to':
      return 'choose a new column name that differs from `from`, at most 63 bytes';
    case 'phase1':
    case 'phase2':
    case 'phase3':
      return 'release names look like 1.4.0 or 2024.06-rc1; they are written by `phasectl advance`';
    default:
      return 'fix the value (the phases.yaml format: docs/internals.md in the phasectl package)';
  }
}
