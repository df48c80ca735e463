import { isMap, isSeq, type YAMLMap, type YAMLSeq } from 'yaml';
import { InputError } from '../errors.js';
import { appendChange, toText } from './edit.js';
import { parsePhasesText, type LoadedPhases } from './load.js';
import type { Change } from './types.js';
import { copyAlongPath } from './yaml-copy.js';

/**
 * Edits of phases.yaml over the life of a change (unplan, replace, archive). Like src/spec/edit.ts they keep
 * comments, work on a copy of the document and return a new, re-validated LoadedPhases; nothing is written.
 */

/** Index of a live change, or an InputError naming the known ids. */
export function liveChangeIndex(loaded: LoadedPhases, changeId: string): number {
  const index = loaded.spec.changes.findIndex((change) => change.id === changeId);
  if (index >= 0) return index;
  if ((loaded.spec.archived ?? []).some((change) => change.id === changeId)) {
    throw new InputError(`change "${changeId}" is archived (its phase 3 shipped)`, {
      location: { file: loaded.file },
      hint: 'an archived change is finished: plan a new change to alter the column again',
    });
  }
  const known = loaded.spec.changes.map((change) => change.id);
  throw new InputError(`no change "${changeId}" in phases.yaml`, {
    location: { file: loaded.file },
    hint: known.length ? `known changes: ${known.join(', ')}` : 'phases.yaml has no changes in flight',
  });
}

/** phases.yaml without the live change `changeId` (its comments go with it). */
export function removeChange(loaded: LoadedPhases, changeId: string): LoadedPhases {
  const index = liveChangeIndex(loaded, changeId);
  const document = copyAlongPath(loaded.document, ['changes']);
  (document.get('changes', true) as YAMLSeq).items.splice(index, 1);
  return reparse(loaded, document);
}

/** phases.yaml with the live change `changeId` replaced by `change`, at the same place in the list. */
export function replaceChange(loaded: LoadedPhases, changeId: string, change: Change): LoadedPhases {
  const index = liveChangeIndex(loaded, changeId);
  // appendChange lays the new entry out as `plan` always does; it is then moved into the old one's place.
  const appended = appendChange(removeChange(loaded, changeId), change);
  const document = copyAlongPath(appended.document, ['changes']);
  const list = document.get('changes', true) as YAMLSeq;
  const node = list.items.pop();
  const old = (loaded.document.get('changes', true) as YAMLSeq).items[index] as YAMLMap | undefined;
  // A comment written above the old entry stays above the new one.
  if (isMap(node) && old?.commentBefore) node.commentBefore = old.commentBefore;
  list.items.splice(index, 0, node);
  return reparse(loaded, document);
}

/**
 * Moves the live change `changeId` to the `archived:` list (created at the end of the file when missing): it
 * leaves the changes in flight, its facts and ledger stay, so its files are still generated and checked.
 */
export function archiveChange(loaded: LoadedPhases, changeId: string): LoadedPhases {
  const index = liveChangeIndex(loaded, changeId);
  const document = copyAlongPath(copyAlongPath(loaded.document, ['changes']), ['archived']);
  const list = document.get('changes', true) as YAMLSeq;
  const [node] = list.items.splice(index, 1);
  let archived = document.get('archived', true);
  if (!isSeq(archived)) {
    archived = document.createNode([]) as YAMLSeq;
    (archived as YAMLSeq).commentBefore =
      ' Changes whose phase 3 has shipped, retired by `phasectl archive`: their files are still generated and\n' +
      ' checked (shipped files never change), but they are no longer in flight.';
    document.set('archived', archived);
  }
  const target = archived as YAMLSeq;
  target.flow = false;
  target.items.push(node);
  return reparse(loaded, document);
}

function reparse(loaded: LoadedPhases, document: Parameters<typeof toText>[0]['document']): LoadedPhases {
  return parsePhasesText(toText({ document }), loaded.file);
}
