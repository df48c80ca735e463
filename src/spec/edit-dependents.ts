import { isMap, isScalar, type YAMLMap } from 'yaml';
import { InputError } from '../errors.js';
import { dependentsToPlain } from './dependents-schema.js';
import type { LoadedPhases } from './load.js';
import type { DependentFacts } from './types.js';
import { copyAlongPath } from './yaml-copy.js';

/**
 * Replaces the `dependents:` record of change `changeId` (e.g. after the database changed since plan), and takes
 * `views` and `generated` out of its `column:` where older files recorded them.
 */
export function replaceDependents(
  loaded: LoadedPhases,
  changeId: string,
  facts: DependentFacts,
  reparse: (loaded: LoadedPhases, document: LoadedPhases['document']) => LoadedPhases,
): LoadedPhases {
  const index = loaded.spec.changes.findIndex((change) => change.id === changeId);
  if (index < 0)
    throw new InputError(`no change "${changeId}" in ${loaded.file}`, { hint: 'check the id in phases.yaml' });
  const document = copyAlongPath(loaded.document, ['changes', index], { cloneTarget: true });
  const change = document.getIn(['changes', index], true);
  const column = document.getIn(['changes', index, 'column'], true);
  if (!isMap(change) || !isMap(column))
    throw new InputError(`change "${changeId}" has no column facts in ${loaded.file}`, {
      hint: 'plan the change again',
    });
  for (const key of ['views', 'generated'] as const) (column as YAMLMap).delete(key);
  const record = document.createNode(dependentsToPlain(facts));
  if ((change as YAMLMap).has('dependents')) (change as YAMLMap).set('dependents', record);
  else insertBefore(change as YAMLMap, 'releases', 'dependents', record);
  return reparse(loaded, document);
}

/** Sets `key` just before `before` (the order phases.yaml writes a change in), or at the end. */
function insertBefore(map: YAMLMap, before: string, key: string, value: unknown): void {
  map.set(key, value);
  const at = map.items.findIndex((pair) => (isScalar(pair.key) ? pair.key.value : pair.key) === before);
  const added = map.items.pop()!;
  if (at < 0) map.items.push(added);
  else map.items.splice(at, 0, added);
}
