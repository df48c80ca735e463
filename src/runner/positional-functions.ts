import { sql } from 'kysely';
import { columnLayout, functionsMentioningTable } from '../catalog/dependent-functions.js';
import {
  exemptionMark,
  functionGuard,
  judgeColumnOrder,
  judgeWholeRow,
  wholeRowGuard,
  type PositionalFunction,
} from '../dependents/functions.js';
import type { Connection } from '../db/connect.js';
import { RuntimeFailure } from '../errors.js';
import { qualify, quoteIdent } from '../render/quote.js';
import type { Change } from '../spec/types.js';
import type { MigrationHeader } from './migration-files.js';

/** The run's pooled handle (RunSession.connection): catalog reads only, beside the session. */
type Db = Connection['db'];

/**
 * The runner's own look at the functions before the column order of a table changes: phase 1's expand (the table
 * gains a column) and phase 3's unsync and contract (the old column goes). The SQL guards of those files
 * (guard-whole-row.hbs, guard-column-order.hbs) refuse only a function plan flagged whose body is as plan read it
 * (md5): they cannot read a body, so any edit (a comment, a reformatting) or a function created after plan passes
 * them, positional writes and all. Here the same candidates as plan (functionsMentioningTable) are read again and
 * judged again with the parser: refused, before the file runs, when one writes the table's whole row into another
 * table by position (phase 1) or maps its columns by position (phase 3), unless its comment exempts it. Other
 * runners (psql, Flyway) keep the md5 check only. Reading pg_proc and pg_description needs no privilege. Once per
 * file: one catalog query and a parse of each candidate, as at plan.
 */
export async function refusePositionalFunctions(db: Db, change: Change, header: MigrationHeader): Promise<void> {
  if (header.direction !== 'up') return;
  if (header.phase === 1 && header.name === 'expand') await refuseWholeRowWriters(db, change);
  if (header.phase === 3 && (header.name === 'contract' || (change.kind === 'move' && header.name === 'unsync')))
    await refuseColumnOrderUsers(db, change);
}

/** Phase 1: functions writing the whole row of the table that gains the column into another table by position. */
async function refuseWholeRowWriters(db: Db, change: Change): Promise<void> {
  const grows =
    change.kind === 'rename'
      ? { schema: change.rename.schema, table: change.rename.table, column: change.rename.to }
      : change.move.to;
  const table = { schema: grows.schema, table: grows.table };
  const found = await wholeRowWritersIfAdded(db, change.id, grows);
  if (found.length === 0) return;
  const guard = wholeRowGuard(change.id, table, grows.column, []);
  const qualified = qualify(table.schema, table.table);
  throw new RuntimeFailure(
    `change ${change.id} cannot add ${quoteIdent(grows.column)} to ${qualified}: function ${names(found)} writes the whole row of ${qualified} into another table by position`,
    { hint: `${guard.wholeRowHint}${where(found, (fn) => fn.uses.filter((use) => use.wholeRow))}` },
  );
}

/**
 * Phase 3's down (restore-column) adds the old column back, last, to the table that lost it (a rename's table, a
 * move's source): its row has one value more again. A function written after phase 3 that writes that whole row into
 * another table by position (an audit trigger's `INSERT INTO audit VALUES (NEW.*)`, the audit table made like the
 * contracted table) would then fail, and every write that fires it with it: the rollback's own backfill first, leaving
 * the rollback half done with the application's writes failing. Refused before the rollback's first down file, as
 * phase 1's expand refuses; the same exemption. Nothing to judge when the column is there already.
 */
export async function refuseWholeRowWritersBeforeRestore(db: Db, change: Change, release: string): Promise<void> {
  const regains =
    change.kind === 'rename'
      ? { schema: change.rename.schema, table: change.rename.table, column: change.rename.from }
      : change.move.from;
  const table = { schema: regains.schema, table: regains.table };
  const found = await wholeRowWritersIfAdded(db, change.id, regains);
  if (found.length === 0) return;
  const qualified = qualify(table.schema, table.table);
  throw new RuntimeFailure(
    `change ${change.id} cannot add ${quoteIdent(regains.column)} back to ${qualified}: function ${names(found)} writes the whole row of ${qualified} into another table by position`,
    {
      hint:
        `the rollback of phase 3 adds ${quoteIdent(regains.column)} back as the last column of ${qualified}, so its row has one value more and such an INSERT fails ("INSERT has more expressions than target columns": every write that fires it fails, the rollback's backfill first) or fills the other table's next column; ` +
        `name the columns in each such statement (INSERT INTO audit (id, …) VALUES (NEW.id, …)) with CREATE OR REPLACE FUNCTION, then run \`phasectl rollback --release ${release}\` again; ` +
        `one that is right as it is can say so in its comment: COMMENT ON FUNCTION … IS '${exemptionMark(change.id)}'` +
        where(found, (fn) => fn.uses.filter((use) => use.wholeRow)),
    },
  );
}

/**
 * The functions (not exempted) writing the whole row of the column's table into another table by position, when
 * adding `column` would grow that row; none when the table has the column already (the guard's own rule: a move to
 * an existing column, a rerun).
 */
async function wholeRowWritersIfAdded(
  db: Db,
  changeId: string,
  column: { schema: string; table: string; column: string },
) {
  if ((await columnLayout(db, column)).position > 0) return [];
  const table = { schema: column.schema, table: column.table };
  return notExempted(db, changeId, judgeWholeRow(await functionsMentioningTable(db, table), table));
}

/** Phase 3: functions mapping the columns of the table that loses the old column by position. */
async function refuseColumnOrderUsers(db: Db, change: Change): Promise<void> {
  const target =
    change.kind === 'rename'
      ? { schema: change.rename.schema, table: change.rename.table, column: change.rename.from }
      : change.move.from;
  const layout = await columnLayout(db, target);
  if (change.kind === 'rename') {
    // Judged as plan did, on the table without the column phase 1 added (last): a rename of the last column still
    // leaves the values where they were (the new column takes its place).
    const added = await columnLayout(db, { ...target, column: change.rename.to });
    if (added.position > 0) {
      layout.columns -= 1;
      if (added.position < layout.position) layout.position -= 1;
    }
  }
  const table = { schema: target.schema, table: target.table };
  const judged = judgeColumnOrder(await functionsMentioningTable(db, table), target, {
    ...layout,
    removed: change.kind === 'move',
  });
  const found = await notExempted(db, change.id, judged);
  if (found.length === 0) return;
  const guard = functionGuard(change.id, target.column, '', []);
  throw new RuntimeFailure(
    `change ${change.id} cannot drop ${quoteIdent(target.column)}: function ${names(found)} maps the columns of ${qualify(table.schema, table.table)} by position`,
    { hint: `${guard.orderGuardHint}${where(found, (fn) => fn.uses)}` },
  );
}

/** Drops the functions whose comment carries the change's exemption mark (as the SQL guards do). */
async function notExempted(db: Db, changeId: string, found: PositionalFunction[]): Promise<PositionalFunction[]> {
  if (found.length === 0) return found;
  const { rows } = await sql<{ name: string }>`
    SELECT p.oid::pg_catalog.regprocedure::pg_catalog.text AS name
      FROM pg_catalog.pg_proc AS p
     WHERE p.oid::pg_catalog.regprocedure::pg_catalog.text OPERATOR(pg_catalog.=) ANY (${found.map((fn) => fn.name)}::pg_catalog.text[])
       AND coalesce(pg_catalog.obj_description(p.oid, 'pg_proc'), '') LIKE ${`%${exemptionMark(changeId)}%`}`.execute(
    db,
  );
  const exempt = new Set(rows.map((row) => row.name));
  return found.filter((fn) => !exempt.has(fn.name));
}

/** The functions as the SQL guards list them: sorted, `; ` between. */
function names(found: readonly PositionalFunction[]): string {
  return found
    .map((fn) => fn.name)
    .sort()
    .join('; ');
}

/** Where each statement is, for the hint (plan's notes have the same lines). */
function where(
  found: readonly PositionalFunction[],
  uses: (fn: PositionalFunction) => PositionalFunction['uses'],
): string {
  const lines = found.flatMap((fn) =>
    uses(fn).map((use) => `${fn.name}, line ${use.line} of its body: ${use.statement}`),
  );
  return lines.length === 0 ? '' : `\n  ${lines.join('\n  ')}`;
}
