import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';

/**
 * The backfill writes the tables of a change (a rename's table; a move's target, and its source on the way down),
 * as the role running phasectl: often the table owner, sometimes a superuser. Everything that runs on those writes
 * runs with that role's rights: the tables' triggers, the functions their indexes (expressions, predicates), CHECK
 * constraints, generated columns and trigger WHEN conditions call, and their rules. So none of it may belong to a
 * role the table's owner does not already answer for. Trusted, as for the state schema (src/session/state-schema.ts):
 * the current role, a role it is a member of, a superuser; and the table's owner (whose table phasectl changes
 * anyway). A problem is:
 * - a partition (or inheriting table: an UPDATE of the parent writes it too) owned by an untrusted role;
 * - a trigger whose function such a role owns (it can `CREATE OR REPLACE` the body at any time), or a function of
 *   an index, CHECK constraint, generated column or trigger WHEN that it owns;
 * - TRIGGER granted to such a role or to PUBLIC (it can add triggers);
 * - a rule on UPDATE: it rewrites the backfill's UPDATE into other statements (INSTEAD NOTHING: the backfill
 *   "finishes" without writing a row).
 * Row-level security policies are not run by phasectl's writing sessions: they set `row_security = off`, with which
 * a query a policy would apply to fails instead (src/backfill/session-guard.ts), so a policy's functions never run.
 *
 * `$1` is the table, as text (`"schema"."table"`); it and every table that inherits from it, at any level, are
 * checked. One row per problem, with the SQL that fixes it, in a stable order.
 */
export const UNTRUSTED_CODE_SQL = `
WITH RECURSIVE member_of(role) AS (
  SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
  UNION
  SELECT m.roleid FROM pg_catalog.pg_auth_members AS m JOIN member_of ON m.member OPERATOR(pg_catalog.=) member_of.role
), owner(role) AS (
  SELECT c.relowner FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
), trusted(role) AS (
  SELECT role FROM member_of
  UNION SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolsuper
  UNION SELECT role FROM owner
), tree(relid, level) AS (
  SELECT pg_catalog.to_regclass($1)::pg_catalog.oid, 0
  UNION
  SELECT h.inhrelid, tree.level OPERATOR(pg_catalog.+) 1
    FROM pg_catalog.pg_inherits AS h JOIN tree ON h.inhparent OPERATOR(pg_catalog.=) tree.relid
), relations(relid, kind) AS (
  SELECT tree.relid,
         CASE WHEN tree.level OPERATOR(pg_catalog.=) 0 THEN 'table'
              WHEN c.relispartition THEN 'partition' ELSE 'inheriting table' END
    FROM tree JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) tree.relid
), new_owner(name) AS (
  SELECT role::pg_catalog.regrole::pg_catalog.text FROM owner
), found(problem, fix) AS (
  SELECT pg_catalog.format('%s %s is owned by role %s', r.kind, c.oid::pg_catalog.regclass, c.relowner::pg_catalog.regrole),
         pg_catalog.format('ALTER TABLE %s OWNER TO %s', c.oid::pg_catalog.regclass, o.name)
    FROM relations AS r JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) r.relid CROSS JOIN new_owner AS o
   WHERE NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) c.relowner)
  UNION ALL
  SELECT pg_catalog.format('trigger %I on %s %s runs function %s, owned by role %s', tg.tgname, r.kind,
           tg.tgrelid::pg_catalog.regclass, tg.tgfoid::pg_catalog.regprocedure, f.proowner::pg_catalog.regrole),
         pg_catalog.format('ALTER FUNCTION %s OWNER TO %s', f.oid::pg_catalog.regprocedure, o.name)
    FROM relations AS r JOIN pg_catalog.pg_trigger AS tg ON tg.tgrelid OPERATOR(pg_catalog.=) r.relid
    JOIN pg_catalog.pg_proc AS f ON f.oid OPERATOR(pg_catalog.=) tg.tgfoid CROSS JOIN new_owner AS o
   WHERE NOT tg.tgisinternal AND NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) f.proowner)
  UNION ALL
  -- Index expressions and predicates, CHECK constraints, generated columns and trigger WHEN conditions run on every
  -- row the backfill writes.
  SELECT pg_catalog.format('%s of %s %s calls function %s, owned by role %s',
           pg_catalog.pg_describe_object(d.classid, d.objid, 0), r.kind, r.relid::pg_catalog.regclass,
           f.oid::pg_catalog.regprocedure, f.proowner::pg_catalog.regrole),
         pg_catalog.format('ALTER FUNCTION %s OWNER TO %s', f.oid::pg_catalog.regprocedure, o.name)
    FROM relations AS r
    JOIN pg_catalog.pg_depend AS d
      ON (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
          AND d.objid IN (SELECT i.indexrelid FROM pg_catalog.pg_index AS i WHERE i.indrelid OPERATOR(pg_catalog.=) r.relid))
      OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
          AND d.objid IN (SELECT co.oid FROM pg_catalog.pg_constraint AS co WHERE co.conrelid OPERATOR(pg_catalog.=) r.relid))
      OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass
          AND d.objid IN (SELECT ad.oid FROM pg_catalog.pg_attrdef AS ad
                            JOIN pg_catalog.pg_attribute AS a
                              ON a.attrelid OPERATOR(pg_catalog.=) ad.adrelid AND a.attnum OPERATOR(pg_catalog.=) ad.adnum
                           WHERE ad.adrelid OPERATOR(pg_catalog.=) r.relid AND a.attgenerated OPERATOR(pg_catalog.<>) ''))
      OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
          AND d.objid IN (SELECT tg.oid FROM pg_catalog.pg_trigger AS tg
                           WHERE tg.tgrelid OPERATOR(pg_catalog.=) r.relid AND NOT tg.tgisinternal
                             AND tg.tgfoid OPERATOR(pg_catalog.<>) d.refobjid))
    JOIN pg_catalog.pg_proc AS f ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
      AND f.oid OPERATOR(pg_catalog.=) d.refobjid
    CROSS JOIN new_owner AS o
   WHERE NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) f.proowner)
  UNION ALL
  SELECT pg_catalog.format('%s may create triggers on %s %s', grantee.name, r.kind, r.relid::pg_catalog.regclass),
         pg_catalog.format('REVOKE TRIGGER ON %s FROM %s', r.relid::pg_catalog.regclass,
           CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE a.grantee::pg_catalog.regrole::pg_catalog.text END)
    FROM relations AS r JOIN pg_catalog.pg_class AS c ON c.oid OPERATOR(pg_catalog.=) r.relid
    CROSS JOIN LATERAL pg_catalog.aclexplode(c.relacl) AS a
    CROSS JOIN LATERAL (SELECT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                ELSE 'role ' OPERATOR(pg_catalog.||) a.grantee::pg_catalog.regrole::pg_catalog.text END) AS grantee(name)
   WHERE a.privilege_type OPERATOR(pg_catalog.=) 'TRIGGER'
     AND NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) a.grantee)
  UNION ALL
  -- ev_type '2': ON UPDATE.
  SELECT pg_catalog.format('rule %I on %s %s rewrites the UPDATE the backfill runs', rw.rulename, r.kind,
           r.relid::pg_catalog.regclass),
         pg_catalog.format('DROP RULE %I ON %s', rw.rulename, r.relid::pg_catalog.regclass)
    FROM relations AS r JOIN pg_catalog.pg_rewrite AS rw ON rw.ev_class OPERATOR(pg_catalog.=) r.relid
   WHERE rw.ev_type OPERATOR(pg_catalog.=) '2'
)
SELECT d.problem, d.fix FROM (SELECT DISTINCT found.problem, found.fix FROM found) AS d
 ORDER BY d.problem COLLATE "C", d.fix COLLATE "C"`;

/** One thing UNTRUSTED_CODE_SQL found, and the SQL that removes it. */
export interface TrustProblem {
  problem: string;
  fix: string;
}

/** The message and the fix for the problems UNTRUSTED_CODE_SQL found on `table`. Pure. */
export function untrustedCodeError(table: string, problems: TrustProblem[]): { message: string; hint: string } {
  const fixes = [...new Set(problems.map((found) => found.fix))];
  return {
    message:
      `${table} would run another role's code as the role running phasectl (its triggers and rules fire, and its ` +
      `indexes, CHECK constraints and generated columns are computed, on every row the backfill writes, in each ` +
      `partition too): ${problems.map((found) => found.problem).join('; ')}`,
    hint:
      `review that code, then hand it to the table's owner or take it away: ${fixes.join('; ')} (or drop those ` +
      'triggers, indexes or constraints); or, if you trust the roles named, run phasectl as a member of them ' +
      '(GRANT <role> TO <migrator>)',
  };
}

/** The problems UNTRUSTED_CODE_SQL finds on `table` (as text, `"schema"."table"`). */
export async function untrustedCode(session: pg.ClientBase, table: string): Promise<TrustProblem[]> {
  return (await session.query<TrustProblem>(UNTRUSTED_CODE_SQL, [table])).rows;
}

/**
 * Refuses (exit 3) before the backfill or a verification touches `tables` (as text, `"schema"."table"`) when one
 * would run another role's code as the current role. Run at the start of every pass, so what changed since `plan`
 * (a trigger planted, a partition attached or handed over) is checked before a row is written.
 */
export async function requireTrustedTables(session: pg.ClientBase, tables: string[]): Promise<void> {
  for (const table of tables) {
    const problems = await untrustedCode(session, table);
    if (problems.length === 0) continue;
    const { message, hint } = untrustedCodeError(table, problems);
    throw new RuntimeFailure(message, { hint });
  }
}
