import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import type { BackfillPlan } from '../operations/types.js';
import { qualify } from '../render/quote.js';
import { CONVERSION_CODE_SQL, conversionCodeError } from '../sql/conversion-code.js';
import type { TrustProblem } from '../sql/untrusted-code.js';

const FUNCTION = 'pg_temp.phasectl_update_check';

/**
 * Refuses (exit 3) a backfill or verification pass whose UPDATE (`plan.updateSql`: the conversion of a type change
 * among it) calls code of a role the table's owner does not answer for, as PostgreSQL resolves it in this session, on
 * the walk's search_path (the key operators' schemas appended: call after addKeyOperatorSchemas). The UPDATE becomes
 * the SQL-standard body of a temporary function, whose pg_depend rows name what it calls; nothing runs, and the
 * function is dropped at once (a temporary object: it goes with the session anyway). Run before every pass: what was
 * handed over or planted since phase 1's expand file checked (a resumed backfill, `phasectl backfill`, a verify) is
 * seen before a row is written.
 */
export async function requireTrustedUpdate(session: pg.ClientBase, plan: BackfillPlan): Promise<void> {
  const args = [...plan.keyTypes, ...plan.keyTypes].map(() => 'pg_catalog.text');
  const signature = `${FUNCTION}(${args.join(', ')})`;
  const table = qualify(plan.table.schema, plan.table.table);
  let problems: TrustProblem[];
  await session.query(`DROP FUNCTION IF EXISTS ${signature}`);
  await session.query(`CREATE FUNCTION ${signature} RETURNS void LANGUAGE sql BEGIN ATOMIC ${plan.updateSql}; END`);
  try {
    const label = `the backfill's UPDATE of change ${plan.changeId} (${plan.direction})`;
    problems = (await session.query<TrustProblem>(CONVERSION_CODE_SQL, [null, table, label, signature])).rows;
  } finally {
    await session.query(`DROP FUNCTION IF EXISTS ${signature}`);
  }
  if (problems.length === 0) return;
  const { message, hint } = conversionCodeError(plan.changeId, table, problems);
  throw new RuntimeFailure(message, { hint });
}
