import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';

/**
 * The partitions of a partitioned table are relations of their own: each may have another owner than the parent
 * and carry its own triggers. The backfill writes each leaf directly (`UPDATE leaf …`), as the role running
 * phasectl, so a trigger on a leaf runs its function with that role's rights, often the table owner's, sometimes a
 * superuser's. A partition may therefore bring in no role the parent does not: its owner, the owner of every
 * trigger function on it and of every function its indexes and CHECK constraints call (they run on each row written
 * too), and every role that may create triggers on it must be trusted, as for the state schema
 * (src/session/state-schema.ts): the current role, a role it is a member of, or a superuser; or else the parent's
 * owner (whose table phasectl changes anyway).
 *
 * `$1` is the parent, as text (`"schema"."table"`). One row per problem, in a stable order.
 */
export const UNTRUSTED_PARTITIONS_SQL = `
WITH RECURSIVE member_of(role) AS (
  SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
  UNION
  SELECT m.roleid FROM pg_catalog.pg_auth_members AS m JOIN member_of ON m.member OPERATOR(pg_catalog.=) member_of.role
), trusted(role) AS (
  SELECT role FROM member_of
  UNION SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolsuper
  UNION SELECT c.relowner FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
), partitions(relid) AS (
  SELECT t.relid FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass($1)) AS t WHERE t.level OPERATOR(pg_catalog.>) 0
), found(problem) AS (
  SELECT pg_catalog.format('partition %s is owned by role %s', c.oid::pg_catalog.regclass, c.relowner::pg_catalog.regrole)
    FROM partitions AS p JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) p.relid
   WHERE NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) c.relowner)
  UNION ALL
  SELECT pg_catalog.format('trigger %I on partition %s runs function %s, owned by role %s', tg.tgname,
           tg.tgrelid::pg_catalog.regclass, tg.tgfoid::pg_catalog.regprocedure, f.proowner::pg_catalog.regrole)
    FROM partitions AS p JOIN pg_catalog.pg_trigger AS tg ON tg.tgrelid OPERATOR(pg_catalog.=) p.relid
    JOIN pg_catalog.pg_proc AS f ON f.oid OPERATOR(pg_catalog.=) tg.tgfoid
   WHERE NOT tg.tgisinternal AND NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) f.proowner)
  UNION ALL
  -- Index expressions and predicates, and CHECK constraints, run on every row the backfill writes.
  SELECT pg_catalog.format('%s of partition %s calls function %s, owned by role %s',
           pg_catalog.pg_describe_object(d.classid, d.objid, 0), p.relid::pg_catalog.regclass,
           f.oid::pg_catalog.regprocedure, f.proowner::pg_catalog.regrole)
    FROM partitions AS p
    JOIN pg_catalog.pg_depend AS d
      ON (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.objid IN (SELECT i.indexrelid FROM pg_catalog.pg_index AS i WHERE i.indrelid OPERATOR(pg_catalog.=) p.relid))
      OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
          AND d.objid IN (SELECT co.oid FROM pg_catalog.pg_constraint AS co WHERE co.conrelid OPERATOR(pg_catalog.=) p.relid))
    JOIN pg_catalog.pg_proc AS f ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
      AND f.oid OPERATOR(pg_catalog.=) d.refobjid
   WHERE NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) f.proowner)
  UNION ALL
  SELECT pg_catalog.format('%s may create triggers on partition %s',
           CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                ELSE 'role ' OPERATOR(pg_catalog.||) a.grantee::pg_catalog.regrole::pg_catalog.text END,
           c.oid::pg_catalog.regclass)
    FROM partitions AS p JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) p.relid
    CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS a
   WHERE a.privilege_type OPERATOR(pg_catalog.=) 'TRIGGER'
     AND NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) a.grantee)
)
SELECT d.problem FROM (SELECT DISTINCT found.problem FROM found) AS d ORDER BY d.problem COLLATE "C"`;

/** The message and the fix for the problems UNTRUSTED_PARTITIONS_SQL found on `table`. Pure. */
export function untrustedPartitionsError(table: string, problems: string[]): { message: string; hint: string } {
  return {
    message:
      `${table} has partitions that would run another role's code as the role running phasectl (the backfill writes ` +
      `each partition directly, firing its triggers and computing its indexes and CHECK constraints): ${problems.join('; ')}`,
    hint:
      'give the partitions to the owner of the parent table (ALTER TABLE … OWNER TO …), drop those triggers (or indexes, constraints) or revoke ' +
      'TRIGGER from the roles named, or run phasectl as a member of those roles (GRANT <role> TO <migrator>) if you trust them',
  };
}

/**
 * Refuses (exit 3) before the backfill or a verification touches the partitions of `table` (as text,
 * `"schema"."table"`) when one would run another role's code as the current role. Run at the start of every pass,
 * so a partition created or attached since `plan` is checked before it is walked.
 */
export async function requireTrustedPartitions(session: pg.ClientBase, table: string): Promise<void> {
  const { rows } = await session.query<{ problem: string }>(UNTRUSTED_PARTITIONS_SQL, [table]);
  if (rows.length === 0) return;
  const { message, hint } = untrustedPartitionsError(
    table,
    rows.map((row) => row.problem),
  );
  throw new RuntimeFailure(message, { hint });
}
