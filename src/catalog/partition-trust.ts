import { CompiledQuery, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { qualify } from '../render/quote.js';
import { UNTRUSTED_PARTITIONS_SQL, untrustedPartitionsError } from '../session/partition-trust.js';

/**
 * `plan` refuses (exit 2, phases.yaml unchanged) a partitioned table with a partition that would run another role's
 * code as the role running phasectl: owned by such a role, a trigger whose function it owns, or TRIGGER granted to
 * it (src/session/partition-trust.ts, which the backfill runs again before every pass).
 */
export async function refuseUntrustedPartitions(
  db: Kysely<any>,
  table: { schema: string; table: string },
  tableName: string,
): Promise<void> {
  const { rows } = await db.executeQuery<{ problem: string }>(
    CompiledQuery.raw(UNTRUSTED_PARTITIONS_SQL, [qualify(table.schema, table.table)]),
  );
  if (rows.length === 0) return;
  const { message, hint } = untrustedPartitionsError(
    tableName,
    rows.map((row) => row.problem),
  );
  throw new InputError(message, { hint });
}
