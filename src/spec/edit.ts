import { isMap, isSeq, type Document, type YAMLMap, type YAMLSeq } from 'yaml';
import { InputError } from '../errors.js';
import { parsePhasesText, type LoadedPhases } from './load.js';
import type { Change, PhaseNumber, ReleaseName } from './types.js';

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
    const { schema, table, from, to, type, up, down } = change.rename;
    what = { rename: { schema, table, from, to, ...(type === undefined ? {} : { type }), ...(up === undefined ? {} : { up }), ...(down === undefined ? {} : { down }) } };
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
      constraints: column.constraints.map((constraint) => ({ name: constraint.name, kind: constraint.kind, definition: constraint.definition })),
    },
    key: { columns: change.key.columns, types: change.key.types },
    ...(change.kind === 'move'
      ? { target: { existingColumn: change.target.existingColumn, ...(change.target.uniqueIndex === undefined ? {} : { uniqueIndex: change.target.uniqueIndex }) } }
      : {}),
    releases: { ...change.releases },
  };
}

/** Appends a change at the end of `changes:` (turning an empty `changes: []` into a block list). */
export function appendChange(loaded: LoadedPhases, change: Change): LoadedPhases {
  const document = loaded.document.clone();
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
  return reparse(loaded, document);
}

/**
 * Records that `phase` of `changeId` ships in `release`: sets `releases.phaseN` of the change and
 * appends the release to the top-level `releases:` list when it is new.
 */
export function recordPhaseRelease(loaded: LoadedPhases, changeId: string, phase: PhaseNumber, release: ReleaseName): LoadedPhases {
  const index = loaded.spec.changes.findIndex((change) => change.id === changeId);
  if (index < 0) throw new InputError(`no change "${changeId}" in ${loaded.file}`, { hint: 'check the id in phases.yaml' });
  const document = loaded.document.clone();
  const releasesNode = document.getIn(['changes', index, 'releases'], true);
  if (!isMap(releasesNode)) {
    const created = document.createNode({ [`phase${phase}`]: release }) as YAMLMap;
    created.flow = true;
    document.setIn(['changes', index, 'releases'], created);
  } else {
    releasesNode.set(`phase${phase}`, release);
  }
  if (!loaded.spec.releases.includes(release)) appendRelease(document, release);
  return reparse(loaded, document);
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

/** The document as text, long lines unfolded so SQL definitions stay on one line. */
export function toText(loaded: Pick<LoadedPhases, 'document'>): string {
  return loaded.document.toString({ lineWidth: 0, flowCollectionPadding: true });
}

function reparse(loaded: LoadedPhases, document: Document): LoadedPhases {
  return parsePhasesText(toText({ document }), loaded.file);
}
