/**
 * What plan says about a DEFERRABLE UNIQUE constraint on the column: PostgreSQL builds a deferrable unique index only
 * under `ADD CONSTRAINT … UNIQUE … DEFERRABLE`, which holds an ACCESS EXCLUSIVE lock for the whole build. So phase 1
 * builds the copy's index with CREATE UNIQUE INDEX CONCURRENTLY (checked at once) and makes it deferrable only when
 * the next step attaches it (`UNIQUE USING INDEX … DEFERRABLE`); phase 3's down does the same for the original. Pure.
 */
import type { ColumnFacts } from '../spec/types.js';
import { deferrability } from './plan-parts.js';

export function deferrableUniqueNotes(column: Pick<ColumnFacts, 'constraints'>, from: string, to: string): string[] {
  return column.constraints
    .filter(
      (constraint) => constraint.kind === 'unique' && /^\s*DEFERRABLE/i.test(deferrability(constraint.definition)),
    )
    .map(
      (constraint) =>
        `note: UNIQUE constraint ${constraint.name} is DEFERRABLE, and PostgreSQL cannot build a deferrable unique index without blocking writes: phase 1 builds the copy on ${to} as a plain unique index and makes it deferrable only in its next step (rolling phase 3 back does the same on ${from}). In between, a transaction that relies on the deferral (e.g. swapping two values with two UPDATEs) is refused: hold such writes while those steps run`,
    );
}
