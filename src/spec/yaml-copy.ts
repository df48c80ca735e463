import { isCollection, isMap, isNode, isSeq, type Document, type Node, type Pair } from 'yaml';

/**
 * Copy-on-write for YAML documents. `Document.clone()` copies every node (a 1,000-change phases.yaml takes
 * a quarter of a second); an edit touches one path, so only the collections along that path are copied and
 * every other node is shared with the original. The original is never changed by edits of the copy as long
 * as they stay on the copied path.
 */

/** A copy of one collection that shares its children: the items array and, for a map, its pairs are new. */
function shallowCopy<T extends Node>(node: T): T {
  const copy = Object.create(Object.getPrototypeOf(node), Object.getOwnPropertyDescriptors(node)) as T;
  if (node.range) copy.range = [...node.range] as typeof node.range;
  if (isCollection(copy)) {
    // A map's pairs are copied too: `set` on an existing key replaces the pair's value in place.
    copy.items = copy.items.map((item) => (isNode(item) ? item : copyPair(item as Pair))) as typeof copy.items;
  }
  return copy;
}

function copyPair(pair: Pair): Pair {
  return Object.create(Object.getPrototypeOf(pair), Object.getOwnPropertyDescriptors(pair)) as Pair;
}

/**
 * A copy of `document` in which the collections at the root and at every prefix of `path` are copied one level
 * deep (see above); the node at the whole `path` is deep-copied when `cloneTarget` is set (a `set` on an
 * existing scalar key changes the scalar node itself). Path parts that do not exist end the copy there.
 */
export function copyAlongPath(
  document: Document,
  path: readonly (string | number)[],
  options: { cloneTarget?: boolean } = {},
): Document {
  const contents = document.contents;
  // Document.clone() copies options, schema and directives; its contents are set below without a deep copy.
  document.contents = null;
  let copy: Document;
  try {
    copy = document.clone();
  } finally {
    document.contents = contents;
  }
  if (!isCollection(contents)) {
    copy.contents = isNode(contents) ? (contents.clone() as Node) : contents;
    return copy;
  }
  let holder: Node = shallowCopy(contents);
  copy.contents = holder;
  for (let depth = 0; depth < path.length; depth++) {
    const part = path[depth];
    const last = depth === path.length - 1;
    const replace = (child: Node): Node => (last && options.cloneTarget ? (child.clone() as Node) : shallowCopy(child));
    let next: Node | undefined;
    if (isMap(holder)) {
      const pair = holder.items.find((item) => isNode(item.key) && (item.key as { value?: unknown }).value === part);
      if (pair && isNode(pair.value)) pair.value = next = replace(pair.value);
    } else if (isSeq(holder) && typeof part === 'number') {
      const item = holder.items[part];
      if (isNode(item)) holder.items[part] = next = replace(item);
    }
    if (!next || !isCollection(next)) break;
    holder = next;
  }
  return copy;
}
