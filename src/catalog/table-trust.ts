import { CompiledQuery, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { qualify } from '../render/quote.js';
import { UNTRUSTED_CODE_SQL, untrustedCodeError, type TrustProblem } from '../sql/untrusted-code.js';

/**
 * `plan` refuses (exit 2, phases.yaml unchanged) a table the backfill would write (a rename's table, a move's source
 * and target) when writing it would run another role's code as the role running phasectl: a trigger, index, CHECK or
 * generated column calling such a role's function, TRIGGER granted to it, a partition it owns, a rule on UPDATE, a
 * domain of `written` (the change's columns on that table, the types it converts to) that such a role controls
 * (src/sql/untrusted-code.ts, which the backfill and verify run again before every pass).
 */
export async function refuseUntrustedCode(
  db: Kysely<any>,
  table: { schema: string; table: string },
  tableName: string,
  written: { columns?: string[]; types?: string[] } = {},
): Promise<void> {
  const { rows } = await db.executeQuery<TrustProblem>(
    CompiledQuery.raw(UNTRUSTED_CODE_SQL, [
      qualify(table.schema, table.table),
      written.columns ?? [],
      written.types ?? [],
    ]),
  );
  if (rows.length === 0) return;
  const { message, hint } = untrustedCodeError(tableName, rows);
  throw new InputError(message, { hint });
}
