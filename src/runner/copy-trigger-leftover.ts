import type pg from 'pg';
import { copyFunctionName } from '../operations/naming.js';
import { qualify, quoteIdent } from '../render/quote.js';

/**
 * After phase 1 of a change is rolled back: the `$copy` trigger of a rename and its function (`sync_<id>$copy`),
 * which a phase-1 down file written by an earlier phasectl does not know. Such a file drops the new column and the
 * sync it knew; a `$copy` trigger left behind (created by this version's later files: a phase-3 rollback's restore)
 * would copy into the dropped column and fail every update of the old one. None is left after this version's own
 * down files, and then this locks no table. Runs in the caller's transaction (rollback's bookkeeping of the phase).
 */
export async function dropLeftoverCopyTriggers(session: pg.ClientBase, changeId: string): Promise<void> {
  const name = copyFunctionName(changeId);
  const { rows } = await session.query<{ table: string; trigger: string }>(
    `SELECT t.tgrelid::pg_catalog.regclass::pg_catalog.text AS table, t.tgname::pg_catalog.text AS trigger
       FROM pg_catalog.pg_trigger AS t
       JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
       JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
      WHERE n.nspname OPERATOR(pg_catalog.=) 'phasectl' AND p.proname OPERATOR(pg_catalog.=) $1
        AND NOT t.tgisinternal AND t.tgparentid OPERATOR(pg_catalog.=) 0`,
    [name],
  );
  // DROP TRIGGER takes the table's ACCESS EXCLUSIVE lock: never queue behind a long transaction for long.
  if (rows.length > 0) await session.query(`SET LOCAL lock_timeout = '2s'`);
  // The table's name as regclass printed it: quoted where needed, qualified unless on the search_path.
  for (const row of rows) await session.query(`DROP TRIGGER IF EXISTS ${quoteIdent(row.trigger)} ON ${row.table}`);
  const fn = `${qualify('phasectl', name)}()`;
  const { rows: found } = await session.query<{ exists: boolean }>(
    'SELECT pg_catalog.to_regprocedure($1) IS NOT NULL AS exists',
    [fn],
  );
  if (found[0]?.exists) await session.query(`DROP FUNCTION IF EXISTS ${fn}`);
}
