/**
 * Indexes of a partitioned table. `CREATE INDEX CONCURRENTLY` cannot run on a partitioned table, and a plain
 * `CREATE INDEX` on it would block writes to every partition while it builds. So the generated step
 * (templates/shared/create-partitioned-index.hbs) creates the index on the parent only (`ON ONLY`: catalog only,
 * INVALID), then builds it on each partition `CONCURRENTLY` and attaches it (`ALTER INDEX … ATTACH PARTITION`,
 * deepest level first); the parent's index becomes valid when every partition has its own attached. The partitions
 * are found when the step runs (they come and go): a query in the file returns one statement per partition still
 * without an index of the tree, and the runner runs each (src/runner/statement-rows.ts; psql: `\gexec`). Pure.
 */
import { InputError } from '../errors.js';
import { indexMethodAndColumns } from './definition-rewrite.js';
import type { IndexPlan } from './plan-parts.js';

/** The column `phasectl_statement` of a query in a migration file: each of its rows is a statement to run next. */
export const STATEMENT_ROWS_COLUMN = 'phasectl_statement';

/**
 * The comment line the template writes right before that query (templates/shared/create-partitioned-index.hbs). The
 * runner runs the rows of a query only when this line opens it in a generated file with an intact digest
 * (src/runner/statement-rows.ts): a column named `phasectl_statement` anywhere else is only a result.
 */
export const STATEMENT_ROWS_MARKER =
  '-- phasectl statement rows: each row of the next query runs as a statement (with psql, end the query with \\gexec instead of ;)';

/** Whether the comment lines that open `statement` end with STATEMENT_ROWS_MARKER (one statement of a step). Pure. */
export function opensWithStatementRowsMarker(statement: string): boolean {
  const lines = statement.split('\n').map((line) => line.trimEnd());
  const code = lines.findIndex((line) => line.trim() !== '' && !line.trimStart().startsWith('--'));
  return code > 0 && lines[code - 1] === STATEMENT_ROWS_MARKER;
}

/** An index plan with the part after the table (`USING btree (c) WHERE …`), for `ON ONLY` and each partition. */
export interface PartitionedIndexPlan extends IndexPlan {
  method: string;
}

/**
 * The context the shared index templates need for the indexes of one step: unchanged for an ordinary table (its
 * output stays byte for byte what it was), with `partitioned` and each index's method for a partitioned one.
 */
export function indexStepContext(
  partitioned: boolean | undefined,
  indexes: IndexPlan[],
  where: string,
): { indexes: IndexPlan[] } | { partitioned: true; statementRowsColumn: string; indexes: PartitionedIndexPlan[] } {
  if (!partitioned) return { indexes };
  return {
    partitioned: true,
    statementRowsColumn: STATEMENT_ROWS_COLUMN,
    indexes: indexes.map((index) => ({
      ...index,
      method: indexMethodAndColumns(index.on, `${where}: index ${index.name}`),
    })),
  };
}

/**
 * The constraints a partitioned table's rename cannot copy (plan refuses them with the reason,
 * src/catalog/partition-facts.ts; this catches a phases.yaml edited by hand): a UNIQUE constraint needs
 * `ADD CONSTRAINT … USING INDEX`, which PostgreSQL refuses on a partitioned table, and a foreign key cannot be
 * added NOT VALID there.
 */
export function refuseUncopyablePartitionedConstraints(
  constraints: ReadonlyArray<{ name: string; kind: string }>,
  indexes: ReadonlyArray<{ constraint?: string }>,
  where: string,
): void {
  const unique =
    constraints.find((constraint) => constraint.kind === 'unique')?.name ??
    indexes.find((index) => index.constraint)?.constraint;
  const foreignKey = constraints.find((constraint) => constraint.kind === 'foreign_key')?.name;
  const name = unique ?? foreignKey;
  if (name === undefined) return;
  throw new InputError(
    `${where}: constraint ${name} cannot be copied on a partitioned table (${unique !== undefined ? 'PostgreSQL cannot attach a UNIQUE constraint to an index built beforehand there' : 'PostgreSQL cannot add a foreign key NOT VALID there'})`,
    { hint: 'run `phasectl plan` again: it says what to change first' },
  );
}
