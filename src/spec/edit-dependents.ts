import { isMap, type YAMLMap } from 'yaml';
import { InputError } from '../errors.js';
import type { LoadedPhases } from './load.js';
import type { ColumnFacts } from './types.js';
import { copyAlongPath } from './yaml-copy.js';

/** The `views` and `generated` facts as phases.yaml spells them (left out when empty). */
export function columnDependentsToPlain(column: Pick<ColumnFacts, 'views' | 'generated'>): Record<string, unknown> {
  return {
    ...(column.views?.length
      ? {
          views: column.views.map((view) => ({
            schema: view.schema,
            name: view.name,
            ...(view.options?.length ? { options: [...view.options] } : {}),
            fingerprint: view.fingerprint,
            definition: view.definition,
          })),
        }
      : {}),
    ...(column.generated?.length
      ? { generated: column.generated.map((column) => ({ name: column.name, expression: column.expression })) }
      : {}),
  };
}

/** Replaces the `views` and `generated` facts of change `changeId` (e.g. after the database changed since plan). */
export function replaceDependents(
  loaded: LoadedPhases,
  changeId: string,
  facts: Pick<ColumnFacts, 'views' | 'generated'>,
  reparse: (loaded: LoadedPhases, document: LoadedPhases['document']) => LoadedPhases,
): LoadedPhases {
  const index = loaded.spec.changes.findIndex((change) => change.id === changeId);
  if (index < 0)
    throw new InputError(`no change "${changeId}" in ${loaded.file}`, { hint: 'check the id in phases.yaml' });
  const document = copyAlongPath(loaded.document, ['changes', index, 'column'], { cloneTarget: true });
  const column = document.getIn(['changes', index, 'column'], true);
  if (!isMap(column))
    throw new InputError(`change "${changeId}" has no column facts in ${loaded.file}`, {
      hint: 'plan the change again',
    });
  const plain = columnDependentsToPlain(facts);
  for (const key of ['views', 'generated'] as const) {
    if (plain[key] === undefined) (column as YAMLMap).delete(key);
    else (column as YAMLMap).set(key, document.createNode(plain[key]));
  }
  return reparse(loaded, document);
}
