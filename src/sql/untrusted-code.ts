import { callChainCte, calledFunctionProblems } from './called-functions.js';
import { typeUnderDomain } from './domain-chain.js';

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
 *   an index, CHECK constraint, generated column or trigger WHEN that it owns, called directly or as the function of
 *   an operator they use (pg_depend records the operator, not its function); and a function such a role owns that
 *   those trusted functions call in turn, as far as pg_depend records it
 *   (src/sql/called-functions.ts: SQL-standard bodies; plpgsql and string bodies are not followed);
 * - a domain whose checks run on those writes, owned by such a role (it can `ALTER DOMAIN … ADD CONSTRAINT` at any
 *   time) or whose CHECK constraints call such a role's function (directly or through an operator). PostgreSQL
 *   checks a domain only where a value is converted to it: in the columns the change writes (`$2`: phase 1's
 *   `ADD COLUMN` evaluates the domain on every row, a type-changing backfill casts each value to it) and in
 *   expressions of the table's indexes, CHECK constraints, generated columns and trigger WHEN conditions that cast to
 *   one. Other columns of the table keep their stored values on an UPDATE: their domains do not run. Domains are
 *   followed through domains over domains, arrays, ranges, composite types and casts inside domain checks;
 * - TRIGGER granted to such a role or to PUBLIC (it can add triggers);
 * - a rule on UPDATE: it rewrites the backfill's UPDATE into other statements (INSTEAD NOTHING: the backfill
 *   "finishes" without writing a row).
 * Row-level security policies are not run by phasectl's writing sessions: they set `row_security = off`, with which
 * a query a policy would apply to fails instead (src/backfill/session-guard.ts), so a policy's functions never run.
 *
 * `$1` is the table, as text (`"schema"."table"`); it and every table that inherits from it, at any level, are
 * checked. `$2` (text[]) names the columns of `$1` the change writes, `$3` (text[]) the types it converts values to
 * (a type change's new type, a move's target column not created yet); both may be empty. One row per problem, with
 * the SQL that fixes it, in a stable order. Pure text: the runner, `plan` and the generated DO blocks share it.
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
), code_objects(relid, kind, classid, objid, own_function) AS (
  -- The objects whose expressions run on every row the backfill writes: index expressions and predicates, CHECK
  -- constraints, generated columns, trigger WHEN conditions (a trigger's own function is checked below, as a trigger).
  SELECT r.relid, r.kind, 'pg_catalog.pg_class'::pg_catalog.regclass::pg_catalog.oid, i.indexrelid, 0::pg_catalog.oid
    FROM relations AS r JOIN pg_catalog.pg_index AS i ON i.indrelid OPERATOR(pg_catalog.=) r.relid
  UNION ALL
  SELECT r.relid, r.kind, 'pg_catalog.pg_constraint'::pg_catalog.regclass::pg_catalog.oid, co.oid, 0::pg_catalog.oid
    FROM relations AS r JOIN pg_catalog.pg_constraint AS co ON co.conrelid OPERATOR(pg_catalog.=) r.relid
  UNION ALL
  SELECT r.relid, r.kind, 'pg_catalog.pg_attrdef'::pg_catalog.regclass::pg_catalog.oid, ad.oid, 0::pg_catalog.oid
    FROM relations AS r JOIN pg_catalog.pg_attrdef AS ad ON ad.adrelid OPERATOR(pg_catalog.=) r.relid
    JOIN pg_catalog.pg_attribute AS a
      ON a.attrelid OPERATOR(pg_catalog.=) ad.adrelid AND a.attnum OPERATOR(pg_catalog.=) ad.adnum
   WHERE a.attgenerated OPERATOR(pg_catalog.<>) ''
  UNION ALL
  SELECT r.relid, r.kind, 'pg_catalog.pg_trigger'::pg_catalog.regclass::pg_catalog.oid, tg.oid, tg.tgfoid
    FROM relations AS r JOIN pg_catalog.pg_trigger AS tg ON tg.tgrelid OPERATOR(pg_catalog.=) r.relid
   WHERE NOT tg.tgisinternal
), code_refs(what, refclassid, refobjid) AS (
  -- What those objects use, by pg_depend's depender index (an OR of the four kinds in one join scanned pg_depend
  -- whole for every relation: most of a second on a table with 25 partitions).
  SELECT pg_catalog.format('%s of %s %s', pg_catalog.pg_describe_object(d.classid, d.objid, 0), o.kind,
           o.relid::pg_catalog.regclass),
         d.refclassid, d.refobjid
    FROM code_objects AS o
    JOIN pg_catalog.pg_depend AS d
      ON d.classid OPERATOR(pg_catalog.=) o.classid AND d.objid OPERATOR(pg_catalog.=) o.objid
     AND d.refobjid OPERATOR(pg_catalog.<>) o.own_function
), domain_uses(typid, used_by) AS (
  -- The types values are converted to: the written columns', the given ones, those the table's code casts to; then
  -- what they are built on, and the types their domains' own checks cast to.
  SELECT a.atttypid, pg_catalog.format('column %I of table %s', a.attname, a.attrelid::pg_catalog.regclass)
    FROM pg_catalog.pg_attribute AS a
   WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) AND NOT a.attisdropped
     AND a.attname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($2::pg_catalog.text[])
  UNION
  SELECT pg_catalog.to_regtype(n)::pg_catalog.oid, pg_catalog.format('the new column of table %s', pg_catalog.to_regclass($1))
    FROM pg_catalog.unnest($3::pg_catalog.text[]) AS n WHERE pg_catalog.to_regtype(n) IS NOT NULL
  UNION
  SELECT cr.refobjid, cr.what FROM code_refs AS cr
   WHERE cr.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
  UNION
  SELECT inner_type.typid, u.used_by
    FROM domain_uses AS u JOIN pg_catalog.pg_type AS t ON t.oid OPERATOR(pg_catalog.=) u.typid
    CROSS JOIN LATERAL (
      ${typeUnderDomain('t')}
      UNION ALL SELECT t.typelem WHERE t.typelem OPERATOR(pg_catalog.<>) 0
        AND t.typsubscript OPERATOR(pg_catalog.=) 'pg_catalog.array_subscript_handler'::pg_catalog.regproc
      UNION ALL SELECT rg.rngsubtype FROM pg_catalog.pg_range AS rg
       WHERE t.oid IN (rg.rngtypid, rg.rngmultitypid)
      UNION ALL SELECT ta.atttypid FROM pg_catalog.pg_attribute AS ta
       WHERE t.typtype OPERATOR(pg_catalog.=) 'c' AND ta.attrelid OPERATOR(pg_catalog.=) t.typrelid
         AND ta.attnum OPERATOR(pg_catalog.>) 0 AND NOT ta.attisdropped
      UNION ALL SELECT dd.refobjid FROM pg_catalog.pg_constraint AS dc
        JOIN pg_catalog.pg_depend AS dd ON dd.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
         AND dd.objid OPERATOR(pg_catalog.=) dc.oid
         AND dd.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
       WHERE dc.contypid OPERATOR(pg_catalog.=) t.oid
    ) AS inner_type(typid)
), domains(typid, what) AS (
  SELECT DISTINCT u.typid, pg_catalog.format('domain %s (used by %s)', u.typid::pg_catalog.regtype, u.used_by)
    FROM domain_uses AS u JOIN pg_catalog.pg_type AS t ON t.oid OPERATOR(pg_catalog.=) u.typid
   WHERE t.typtype OPERATOR(pg_catalog.=) 'd'
), calls(what, fn, through) AS (
  -- Each function that runs: called directly, or as an operator's function; the domains' checks' too.
  SELECT cr.what, cr.refobjid, '' FROM code_refs AS cr
   WHERE cr.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT pg_catalog.format('check constraint %I of %s', dc.conname, dm.what), dd.refobjid, ''
    FROM domains AS dm JOIN pg_catalog.pg_constraint AS dc ON dc.contypid OPERATOR(pg_catalog.=) dm.typid
    JOIN pg_catalog.pg_depend AS dd ON dd.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
     AND dd.objid OPERATOR(pg_catalog.=) dc.oid
     AND dd.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT cr.what, op.oprcode::pg_catalog.oid, pg_catalog.format(' (operator %s)', op.oid::pg_catalog.regoperator)
    FROM code_refs AS cr JOIN pg_catalog.pg_operator AS op ON op.oid OPERATOR(pg_catalog.=) cr.refobjid
   WHERE cr.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass
  UNION ALL
  SELECT pg_catalog.format('check constraint %I of %s', dc.conname, dm.what), op.oprcode::pg_catalog.oid,
         pg_catalog.format(' (operator %s)', op.oid::pg_catalog.regoperator)
    FROM domains AS dm JOIN pg_catalog.pg_constraint AS dc ON dc.contypid OPERATOR(pg_catalog.=) dm.typid
    JOIN pg_catalog.pg_depend AS dd ON dd.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
     AND dd.objid OPERATOR(pg_catalog.=) dc.oid
     AND dd.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass
    JOIN pg_catalog.pg_operator AS op ON op.oid OPERATOR(pg_catalog.=) dd.refobjid
), ${callChainCte(
  'call_chain',
  `-- What those functions call in turn, as far as pg_depend records it (a trigger's own function is plpgsql or C:
  -- nothing recorded to follow).
  SELECT ca.what, ca.fn, ca.through, ARRAY[ca.fn] FROM calls AS ca`,
)}, found(problem, fix) AS (
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
  SELECT pg_catalog.format('%s calls function %s%s, owned by role %s', ca.what, f.oid::pg_catalog.regprocedure,
           ca.through, f.proowner::pg_catalog.regrole),
         pg_catalog.format('ALTER FUNCTION %s OWNER TO %s', f.oid::pg_catalog.regprocedure, o.name)
    FROM calls AS ca JOIN pg_catalog.pg_proc AS f ON f.oid OPERATOR(pg_catalog.=) ca.fn CROSS JOIN new_owner AS o
   WHERE NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) f.proowner)
  UNION ALL
  ${calledFunctionProblems('call_chain')}
  UNION ALL
  SELECT pg_catalog.format('%s is owned by role %s', dm.what, t.typowner::pg_catalog.regrole),
         pg_catalog.format('ALTER DOMAIN %s OWNER TO %s', t.oid::pg_catalog.regtype, o.name)
    FROM domains AS dm JOIN pg_catalog.pg_type AS t ON t.oid OPERATOR(pg_catalog.=) dm.typid CROSS JOIN new_owner AS o
   WHERE NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) t.typowner)
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

/**
 * The fixed text around the refusal of `table`: the message is `messageStart` and the problems joined by `; `, the
 * hint `hintStart`, the distinct fixes joined by `; `, then `hintEnd`. Shared by untrustedCodeError and the check the
 * generated DO blocks run. Pure.
 */
export function untrustedCodeText(table: string): { messageStart: string; hintStart: string; hintEnd: string } {
  return {
    messageStart:
      `${table} would run another role's code as the role running phasectl (its triggers and rules fire, and its ` +
      `indexes, CHECK constraints, generated columns and the domains of the values it writes are computed, on every ` +
      `row the backfill writes, in each partition too): `,
    hintStart: "review that code, then hand it to the table's owner or take it away: ",
    hintEnd:
      ' (or drop those triggers, indexes or constraints); or, if you trust the roles named, run phasectl as a member ' +
      'of them (GRANT <role> TO <migrator>)',
  };
}

/** The message and the fix for the problems UNTRUSTED_CODE_SQL found on `table`. Pure. */
export function untrustedCodeError(table: string, problems: TrustProblem[]): { message: string; hint: string } {
  const fixes = [...new Set(problems.map((found) => found.fix))];
  const text = untrustedCodeText(table);
  return {
    message: text.messageStart + problems.map((found) => found.problem).join('; '),
    hint: text.hintStart + fixes.join('; ') + text.hintEnd,
  };
}
