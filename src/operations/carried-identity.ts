/**
 * What a rename's phase 3 carries over from the old column to the new one just before it drops the old column, beyond
 * its indexes and constraints (copied by phase 1): the table's replica identity, when it is the index of the old column
 * whose copy phase 1 built, and the sequences the old column owns (a `serial` column's). Both are read from the
 * database when phase 3 runs (templates/shared/carry-replica-identity.hbs, carry-owned-sequences.hbs); phase 3's down
 * gives them back (templates/shared/replica-identity-back.hbs, restore-column's sequence step). Pure.
 */
import type { ColumnFacts } from '../spec/types.js';

/**
 * The parts of a ColumnCopy (column-copy.ts) the pairing reads, spelled out here: column-copy builds its hints with
 * identityIndexPairs, so importing its type would make the two modules import each other.
 */
interface IdentityCopy {
  sides: {
    original: { schema: string; table: string };
    copy: { schema: string; table: string };
    facts: Pick<ColumnFacts, 'indexes'>;
    partitioned?: boolean;
  };
  notNull: boolean;
  copyIndexes: ReadonlyArray<{ name: string }>;
  copyNotNullCheck?: unknown;
}

/**
 * The indexes of the old column `plan` recorded that `keep` accepts, each with the copy phase 1 built of it. None for a
 * move (the copy is on another table, which cannot take the source table's identity or CLUSTER mark) or a partitioned
 * table (each partition has its own identity, left to the guard's refusal; a partitioned table is never clustered).
 */
function builtIndexPairs(
  copy: IdentityCopy,
  keep: (index: ColumnFacts['indexes'][number]) => boolean,
): Array<{ original: string; copy: string }> {
  const { original, copy: side, facts } = copy.sides;
  const rename = original.schema === side.schema && original.table === side.table;
  if (!rename || copy.sides.partitioned === true) return [];
  return facts.indexes.flatMap((index, position) => {
    const built = copy.copyIndexes[position];
    return keep(index) && built !== undefined ? [{ original: index.name, copy: built.name }] : [];
  });
}

/**
 * The unique indexes of the old column with their copies: the candidates for the replica identity phase 3 carries.
 * None for a column that was nullable at plan either (the copy would get no NOT NULL in phase 3, and an identity
 * index needs one).
 */
export function identityIndexPairs(copy: IdentityCopy): Array<{ original: string; copy: string }> {
  if (!copy.notNull || copy.copyNotNullCheck === undefined) return [];
  return builtIndexPairs(copy, (index) => index.unique);
}

/**
 * Every index of the old column with its copy: the candidates for the table's CLUSTER index (indisclustered), which
 * phase 3 moves to the copy before DROP COLUMN drops the original (a later `CLUSTER <table>` would otherwise fail: no
 * previously clustered index) and its down moves back (templates/shared/carry-cluster-index.hbs).
 */
export function clusterIndexPairs(copy: IdentityCopy): Array<{ original: string; copy: string }> {
  return builtIndexPairs(copy, () => true);
}
