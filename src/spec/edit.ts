import { isMap, isSeq, type Document, type Node, type YAMLMap, type YAMLSeq } from 'yaml';
import { InputError } from '../errors.js';
import { parsePhasesDocument, parsePhasesText, type DocumentPath, type LoadedPhases } from './load.js';
import { changeSchema, fileRuleIssues, releaseNameSchema } from './schema.js';
import type { Change, PhaseNumber, PhasesFile, ReleaseName } from './types.js';
import { copyAlongPath } from './yaml-copy.js';
import { dependentsToPlain } from './dependents-schema.js';

/**
 * Edits of phases.yaml that keep the user's comments and formatting: each works on a copy of the
 * YAML document and returns a new, re-validated LoadedPhases (nothing is written; see save.ts).
 */

/** The change as phases.yaml spells it: keys in a fixed order, optional facts left out. */
export function changeToPlain(change: Change): Record<string, unknown> {
  const column = change.column;
  let what: Record<string, unknown>;
  if (change.kind === 'move') {
    const { from, to, on } = change.move;
    what = { move: { from: { ...from }, to: { ...to }, on: on.map((pair) => ({ from: pair.from, to: pair.to })) } };
  } else {
    const { schema, table, from, to, type, up, down, lossy, syncTrigger, partitioned } = change.rename;
    what = {
      rename: {
        schema,
        table,
        from,
        to,
        ...(type === undefined ? {} : { type }),
        ...(up === undefined ? {} : { up }),
        ...(down === undefined ? {} : { down }),
        ...(lossy ? { lossy } : {}),
        ...(syncTrigger === undefined ? {} : { syncTrigger }),
        ...(partitioned ? { partitioned } : {}),
      },
    };
  }
  return {
    id: change.id,
    ...what,
    column: {
      type: column.type,
      ...(column.collation === undefined ? {} : { collation: column.collation }),
      nullable: column.nullable,
      ...(column.default === undefined ? {} : { default: column.default }),
      indexes: column.indexes.map((index) => ({
        name: index.name,
        unique: index.unique,
        ...(index.constraint === undefined ? {} : { constraint: index.constraint }),
        definition: index.definition,
      })),
      constraints: column.constraints.map((constraint) => ({
        name: constraint.name,
        kind: constraint.kind,
        definition: constraint.definition,
      })),
    },
    key: { columns: change.key.columns, types: change.key.types },
    ...(change.kind === 'move'
      ? {
          target: {
            existingColumn: change.target.existingColumn,
            ...(change.target.uniqueIndex === undefined ? {} : { uniqueIndex: change.target.uniqueIndex }),
          },
        }
      : {}),
    ...(change.dependents ? { dependents: dependentsToPlain(change.dependents) } : {}),
    releases: { ...change.releases },
  };
}

/** Appends a change at the end of `changes:` (turning an empty `changes: []` into a block list). */
export function appendChange(loaded: LoadedPhases, change: Change): LoadedPhases {
  const document = copyAlongPath(loaded.document, ['changes']);
  const existing = document.get('changes', true);
  // Fast path (no re-parse) only where the edit cannot move a comment: a block list that already has items.
  const quiet = isSeq(existing) && !existing.flow && existing.items.length > 0 && !hasComment(existing);
  let changes = document.get('changes', true);
  if (!isSeq(changes)) {
    document.set('changes', document.createNode([]));
    changes = document.get('changes', true);
  }
  const list = changes as YAMLSeq;
  list.flow = false;
  const node = document.createNode(changeToPlain(change)) as YAMLMap;
  for (const key of ['key', 'target', 'releases']) {
    const value = node.get(key, true);
    if (isMap(value)) value.flow = true;
  }
  const move = node.get('move', true);
  if (isMap(move)) {
    for (const key of ['from', 'to']) {
      const value = move.get(key, true);
      if (isMap(value)) value.flow = true;
    }
    const on = move.get('on', true);
    if (isSeq(on)) for (const pair of on.items) if (isMap(pair)) pair.flow = true;
  }
  for (const key of ['columns', 'types']) {
    const value = (node.get('key', true) as unknown as YAMLMap).get(key, true);
    if (isSeq(value)) value.flow = true;
  }
  list.items.push(node);
  if (quiet) {
    const plain = changeToPlain(change);
    const validated = ordinaryStrings(plain) ? changeSchema.safeParse(plain) : undefined;
    if (validated?.success) {
      const spec: PhasesFile = { ...loaded.spec, changes: [...loaded.spec.changes, validated.data as Change] };
      if (fileRuleIssues(spec).length === 0) return edited(loaded.file, spec, document);
    }
  }
  return reparse(loaded, document);
}

/**
 * Records that `phase` of `changeId` ships in `release`: sets `releases.phaseN` of the change and
 * appends the release to the top-level `releases:` list when it is new.
 */
export function recordPhaseRelease(
  loaded: LoadedPhases,
  changeId: string,
  phase: PhaseNumber,
  release: ReleaseName,
): LoadedPhases {
  const index = loaded.spec.changes.findIndex((change) => change.id === changeId);
  if (index < 0)
    throw new InputError(`no change "${changeId}" in ${loaded.file}`, { hint: 'check the id in phases.yaml' });
  const isNew = !loaded.spec.releases.includes(release);
  const document = copyAlongPath(loaded.document, ['changes', index, 'releases'], { cloneTarget: true });
  const topReleases = isNew ? copyAlongPath(document, ['releases']) : document;
  const releasesNode = topReleases.getIn(['changes', index, 'releases'], true);
  const topList = topReleases.get('releases', true);
  const quiet =
    isMap(releasesNode) &&
    !hasComment(releasesNode) &&
    (!isNew || topList === undefined || (isSeq(topList) && !hasComment(topList)));
  if (!isMap(releasesNode)) {
    const created = topReleases.createNode({ [`phase${phase}`]: release }) as YAMLMap;
    created.flow = true;
    topReleases.setIn(['changes', index, 'releases'], created);
  } else {
    releasesNode.set(`phase${phase}`, release);
  }
  if (isNew) appendRelease(topReleases, release);
  if (quiet) {
    const before = loaded.spec.changes[index]!;
    const plain = { ...changeToPlain(before), releases: { ...before.releases, [`phase${phase}`]: release } };
    const validated = changeSchema.safeParse(plain);
    if (validated.success && (!isNew || releaseNameSchema.safeParse(release).success)) {
      const changes = [...loaded.spec.changes];
      changes[index] = validated.data as Change;
      const spec: PhasesFile = {
        ...loaded.spec,
        releases: isNew ? [...loaded.spec.releases, release] : loaded.spec.releases,
        changes,
      };
      if (fileRuleIssues(spec).length === 0) return edited(loaded.file, spec, topReleases);
    }
  }
  return reparse(loaded, topReleases);
}

function appendRelease(document: Document, release: ReleaseName): void {
  const existing = document.get('releases', true);
  if (isSeq(existing)) {
    existing.add(document.createNode(release));
    return;
  }
  const list = document.createNode([release]) as YAMLSeq;
  list.flow = true;
  const root = document.contents as YAMLMap;
  // Right after `version:` reads best; the top-level list orders the migration files.
  const versionIndex = root.items.findIndex((pair) => (pair.key as { value?: unknown } | null)?.value === 'version');
  root.items.splice(versionIndex + 1, 0, document.createPair('releases', list));
}

/** Text of documents made by an edit here (they are never changed afterwards: later edits copy them). */
const editedTexts = new WeakMap<Document, string>();

/** The document as text, long lines unfolded so SQL definitions stay on one line. */
export function toText(loaded: Pick<LoadedPhases, 'document'>): string {
  const known = editedTexts.get(loaded.document);
  if (known !== undefined) return known;
  return loaded.document.toString({ lineWidth: 0, flowCollectionPadding: true });
}

/**
 * The result of an edit checked without parsing the whole file again (an edit of a 1,000-change file took
 * seconds): `spec` is the old one with the edited change validated alone plus the rules that span changes.
 * Text and positions are computed on first use, from the text the edit writes, exactly as a re-parse would.
 */
function edited(file: string, spec: PhasesFile, document: Document): LoadedPhases {
  let text: string | undefined;
  let positions: ReturnType<typeof parsePhasesDocument> | undefined;
  const textOf = () => {
    if (text === undefined) {
      text = toText({ document });
      editedTexts.set(document, text);
    }
    return text;
  };
  const positionsOf = () => (positions ??= parsePhasesDocument(textOf()));
  return {
    file,
    spec,
    document,
    get text() {
      return textOf();
    },
    get lineCounter() {
      return positionsOf().lineCounter;
    },
    locate: (path: DocumentPath) => positionsOf().locate(path),
  };
}

function hasComment(node: Node): boolean {
  return Boolean(node.comment || node.commentBefore);
}

/**
 * True when every string in `value` is one line of printable characters: such strings survive the YAML
 * round trip unchanged, so the validated value equals what a re-parse of the written text would give.
 */
function ordinaryStrings(value: unknown): boolean {
  if (typeof value === 'string') return /^[\x20-\x7e\u00a0-\ud7ff\ue000-\ufffd]*$/.test(value);
  if (Array.isArray(value)) return value.every(ordinaryStrings);
  if (value !== null && typeof value === 'object') return Object.values(value).every(ordinaryStrings);
  return true;
}

export function reparse(loaded: LoadedPhases, document: Document): LoadedPhases {
  return parsePhasesText(toText({ document }), loaded.file);
}
