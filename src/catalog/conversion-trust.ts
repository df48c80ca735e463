import type pg from 'pg';
import { InputError } from '../errors.js';
import { conversionSelects } from '../operations/conversion-selects.js';
import { renameConversions } from '../operations/rename.js';
import { qualify, quoteIdent } from '../render/quote.js';
import { keyOperatorSchemasQuery } from '../operations/key-operators.js';
import { describePgError } from '../session/pg-error.js';
import type { RenameChange } from '../spec/types.js';
import {
  CONVERSION_CODE_SQL,
  CONVERSION_EXECUTE_SQL,
  conversionCodeError,
  conversionExecuteError,
  conversionViewSql,
} from '../sql/conversion-code.js';
import type { TrustProblem } from '../sql/untrusted-code.js';

const VIEW = 'pg_temp.phasectl_conversion_check';

/**
 * `plan` refuses (exit 2, phases.yaml unchanged) a rename whose conversion (`--up`, `--down`, or the casts of a type
 * change) calls code of a role it does not trust (src/sql/conversion-code.ts). Run before anything evaluates the
 * expressions (the round-trip check runs them on every row): nothing is evaluated here. Each conversion becomes a
 * temporary view in a transaction that is rolled back, so this needs TEMPORARY on the database (PUBLIC has it unless
 * revoked). It also refuses a conversion that a role writing the table may not run (EXECUTE on a function it calls, USAGE
 * on its schema: CONVERSION_EXECUTE_SQL): the sync functions are SECURITY INVOKER, so that role's writes would fail.
 */
export async function refuseUntrustedConversion(pool: pg.Pool, change: RenameChange): Promise<void> {
  const selects = conversionSelects(change, renameConversions(change));
  if (selects.length === 0) return;
  const table = qualify(change.rename.schema, change.rename.table);
  const client = await pool.connect();
  const problems: TrustProblem[] = [];
  const denied: TrustProblem[] = [];
  try {
    // The backfill's walk appends the key operators' schemas (e.g. citext's) to the path: resolve there too.
    const { rows } = await client.query<{ schema: string }>(keyOperatorSchemasQuery('$1::pg_catalog.text[]'), [
      change.key.types,
    ]);
    const keyPath = rows.map((row) => `, ${quoteIdent(row.schema)}`).join('');
    for (const { label, select } of selects) {
      for (const extra of keyPath === '' ? [''] : ['', keyPath]) {
        await client.query('BEGIN');
        try {
          await client.query(`SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '30s'`);
          const saved = (
            await client.query<{ path: string }>(`SELECT pg_catalog.current_setting('search_path') AS path`)
          ).rows[0]!.path;
          await client.query(`SELECT pg_catalog.set_config('search_path', $1, true)`, [saved + extra]);
          await client.query(conversionViewSql(VIEW, select)).catch((error: unknown) => {
            throw new InputError(`${label} does not work on ${table}: ${describePgError(error)}`, {
              hint:
                'fix the expression (it runs with search_path = pg_catalog, pg_temp: schema-qualify your own functions); ' +
                'plan reads what it calls through a temporary view, so the planning role needs TEMPORARY on the database; ' +
                'nothing was written',
            });
          });
          await client.query(`SELECT pg_catalog.set_config('search_path', $1, true)`, [saved]);
          problems.push(...(await client.query<TrustProblem>(CONVERSION_CODE_SQL, [VIEW, table, label, null])).rows);
          if (extra === '') {
            const writers = [VIEW, table, label, change.rename.from];
            denied.push(...(await client.query<TrustProblem>(CONVERSION_EXECUTE_SQL, writers)).rows);
          }
        } finally {
          await client.query('ROLLBACK').catch(() => undefined);
        }
      }
    }
  } finally {
    client.release();
  }
  if (problems.length > 0) {
    const { message, hint } = conversionCodeError(change.id, table, problems);
    throw new InputError(message, { hint });
  }
  if (denied.length > 0) {
    const { message, hint } = conversionExecuteError(change.id, table, denied);
    throw new InputError(message, { hint });
  }
}
