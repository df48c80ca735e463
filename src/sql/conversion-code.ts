import { callChainCte, calledFunctionProblems } from './called-functions.js';
import type { TrustProblem } from './untrusted-code.js';
import { writesTableSql } from './writer-roles.js';

/**
 * The code a rename's conversion runs: the functions and operators its `up` and `down` expressions call (a type change
 * without them: the casts), and the domains they cast to. The backfill runs it on every row as the role running
 * phasectl, the sync trigger on every write as the role writing. So none of it may belong to a role outside those
 * UNTRUSTED_CODE_SQL trusts (src/sql/untrusted-code.ts): the current role, a role it is a member of, a superuser, the
 * table's owner.
 *
 * What an expression calls is what PostgreSQL resolves it to: the expression is made a temporary view
 * (conversionViewSql, in a transaction rolled back or dropped at once; nothing runs) and pg_depend of the view's rule
 * lists the functions, operators and types its parse tree names, each overload as resolved. Functions are then
 * followed as far as pg_depend records what they call (src/sql/called-functions.ts); domains through domains over
 * domains, with their CHECK constraints' functions and operators.
 *
 * `$1` is the view (text), `$2` the table (`"schema"."table"`, text), `$3` how the problems name the expression (text,
 * e.g. `the up expression of change users-jt`), `$4` (text, may be NULL) a function with a SQL-standard body whose
 * dependencies count too (src/backfill/update-trust.ts: the backfill's UPDATE itself). One row per problem, with the
 * SQL that fixes it, in a stable order.
 */
export const CONVERSION_CODE_SQL = `
WITH RECURSIVE member_of(role) AS (
  SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
  UNION
  SELECT m.roleid FROM pg_catalog.pg_auth_members AS m JOIN member_of ON m.member OPERATOR(pg_catalog.=) member_of.role
), owner(role) AS (
  SELECT c.relowner FROM pg_catalog.pg_class AS c WHERE c.oid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($2::pg_catalog.text)
), trusted(role) AS (
  SELECT role FROM member_of
  UNION SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolsuper
  UNION SELECT role FROM owner
), new_owner(name) AS (
  SELECT role::pg_catalog.regrole::pg_catalog.text FROM owner
), uses(refclassid, refobjid) AS (
  SELECT d.refclassid, d.refobjid
    FROM pg_catalog.pg_rewrite AS rw
    JOIN pg_catalog.pg_depend AS d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
     AND d.objid OPERATOR(pg_catalog.=) rw.oid
   WHERE rw.ev_class OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1::pg_catalog.text)
  UNION ALL
  SELECT d.refclassid, d.refobjid FROM pg_catalog.pg_depend AS d
   WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
     AND d.objid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure($4::pg_catalog.text)
), domains(typid) AS (
  SELECT t.oid FROM uses AS u JOIN pg_catalog.pg_type AS t ON t.oid OPERATOR(pg_catalog.=) u.refobjid
   WHERE u.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_type'::pg_catalog.regclass
     AND t.typtype OPERATOR(pg_catalog.=) 'd'
  UNION
  SELECT b.oid FROM domains AS dm JOIN pg_catalog.pg_type AS t ON t.oid OPERATOR(pg_catalog.=) dm.typid
    JOIN pg_catalog.pg_type AS b ON b.oid OPERATOR(pg_catalog.=) t.typbasetype
   WHERE b.typtype OPERATOR(pg_catalog.=) 'd'
), domain_uses(what, refclassid, refobjid) AS (
  SELECT pg_catalog.format('check constraint %I of domain %s (which %s casts to)', dc.conname,
           dc.contypid::pg_catalog.regtype, $3::pg_catalog.text),
         dd.refclassid, dd.refobjid
    FROM domains AS dm JOIN pg_catalog.pg_constraint AS dc ON dc.contypid OPERATOR(pg_catalog.=) dm.typid
    JOIN pg_catalog.pg_depend AS dd ON dd.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass
     AND dd.objid OPERATOR(pg_catalog.=) dc.oid
), refs(what, refclassid, refobjid) AS (
  SELECT $3::pg_catalog.text, u.refclassid, u.refobjid FROM uses AS u
  UNION ALL
  SELECT du.what, du.refclassid, du.refobjid FROM domain_uses AS du
), calls(what, fn, through) AS (
  SELECT rf.what, rf.refobjid, ''::pg_catalog.text FROM refs AS rf
   WHERE rf.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION ALL
  SELECT rf.what, op.oprcode::pg_catalog.oid, pg_catalog.format(' (operator %s)', op.oid::pg_catalog.regoperator)
    FROM refs AS rf JOIN pg_catalog.pg_operator AS op ON op.oid OPERATOR(pg_catalog.=) rf.refobjid
   WHERE rf.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass
), ${callChainCte('call_chain', 'SELECT ca.what, ca.fn, ca.through, ARRAY[ca.fn] FROM calls AS ca')}, found(problem, fix) AS (
  SELECT pg_catalog.format('%s calls function %s%s, owned by role %s', ca.what, f.oid::pg_catalog.regprocedure,
           ca.through, f.proowner::pg_catalog.regrole),
         pg_catalog.format('ALTER FUNCTION %s OWNER TO %s', f.oid::pg_catalog.regprocedure, o.name)
    FROM calls AS ca JOIN pg_catalog.pg_proc AS f ON f.oid OPERATOR(pg_catalog.=) ca.fn CROSS JOIN new_owner AS o
   WHERE NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) f.proowner)
  UNION ALL
  ${calledFunctionProblems('call_chain')}
  UNION ALL
  SELECT pg_catalog.format('%s casts to domain %s, owned by role %s', $3::pg_catalog.text, t.oid::pg_catalog.regtype,
           t.typowner::pg_catalog.regrole),
         pg_catalog.format('ALTER DOMAIN %s OWNER TO %s', t.oid::pg_catalog.regtype, o.name)
    FROM domains AS dm JOIN pg_catalog.pg_type AS t ON t.oid OPERATOR(pg_catalog.=) dm.typid CROSS JOIN new_owner AS o
   WHERE NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) t.typowner)
)
SELECT d.problem, d.fix FROM (SELECT DISTINCT found.problem, found.fix FROM found) AS d
 ORDER BY d.problem COLLATE "C", d.fix COLLATE "C"`;

/** The temporary view whose dependencies name what `select` calls (created in pg_temp; nothing is evaluated). */
export function conversionViewSql(view: string, select: string): string {
  return `CREATE TEMPORARY VIEW ${view} AS ${select}`;
}

/**
 * The message and hint of a refusal of the conversion of `change` (its id) on `table`, for `problems`. Pure: shared by
 * plan and the check the generated files run (src/render/conversion-check.ts).
 */
export function conversionCodeText(
  change: string,
  table: string,
): { messageStart: string; hintStart: string; hintEnd: string } {
  return {
    messageStart:
      `the conversion of change ${change} would run another role's code as the role running phasectl (the backfill ` +
      `converts every row of ${table}) and as every role that writes it (the sync trigger converts each write): `,
    hintStart: 'review that code, then hand it to the owner of the table or take it out of the expression: ',
    hintEnd: '; or, if you trust the roles named, run phasectl as a member of them (GRANT <role> TO <migrator>)',
  };
}

/** The message and hint for `problems` found in the conversion of `change` on `table`. Pure. */
export function conversionCodeError(
  change: string,
  table: string,
  problems: TrustProblem[],
): { message: string; hint: string } {
  const text = conversionCodeText(change, table);
  const fixes = [...new Set(problems.map((found) => found.fix))];
  return {
    message: text.messageStart + problems.map((found) => found.problem).join('; '),
    hint: text.hintStart + fixes.join('; ') + text.hintEnd,
  };
}

/**
 * The roles whose writes would fail once the sync trigger converts them: the sync functions are SECURITY INVOKER, so
 * every function (or operator's function) a conversion calls directly is run, and its schema looked up, with the rights
 * of the role writing the table. A role that writes the table (src/sql/writer-roles.ts: it may INSERT into it, any
 * column, the old column's DEFAULT is converted too; or UPDATE the old column; or either through another owner's view,
 * whose writes fire the trigger as the role writing), but lacks EXECUTE on such a function or USAGE on its schema,
 * gets "permission denied" on every such write from phase 1 on. Superusers and predefined `pg_*` roles are left out.
 *
 * `$1` is the view (text), `$2` the table (`"schema"."table"`, text), `$3` how the problems name the expression (text),
 * `$4` the old column (text). One row per problem, with the GRANT that fixes it, in a stable order.
 */
export const CONVERSION_EXECUTE_SQL = `
WITH uses(refclassid, refobjid) AS (
  SELECT d.refclassid, d.refobjid
    FROM pg_catalog.pg_rewrite AS rw
    JOIN pg_catalog.pg_depend AS d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
     AND d.objid OPERATOR(pg_catalog.=) rw.oid
   WHERE rw.ev_class OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1::pg_catalog.text)
), fns(fn) AS (
  SELECT u.refobjid FROM uses AS u WHERE u.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
  UNION
  SELECT op.oprcode::pg_catalog.oid FROM uses AS u JOIN pg_catalog.pg_operator AS op ON op.oid OPERATOR(pg_catalog.=) u.refobjid
   WHERE u.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass
), writers(role) AS (
  SELECT r.oid FROM pg_catalog.pg_roles AS r
   WHERE NOT r.rolsuper AND r.rolname::pg_catalog.text OPERATOR(pg_catalog.!~) '^pg_'
     AND ${writesTableSql('r.oid', 'pg_catalog.to_regclass($2::pg_catalog.text)', ['$4::pg_catalog.text'])}
), found(problem, fix) AS (
  SELECT pg_catalog.format('role %s writes %s but may not execute function %s, which %s calls',
           w.role::pg_catalog.regrole, $2::pg_catalog.text, f.oid::pg_catalog.regprocedure, $3::pg_catalog.text),
         pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', f.oid::pg_catalog.regprocedure, w.role::pg_catalog.regrole)
    FROM writers AS w CROSS JOIN fns JOIN pg_catalog.pg_proc AS f ON f.oid OPERATOR(pg_catalog.=) fns.fn
   WHERE NOT pg_catalog.has_function_privilege(w.role, f.oid, 'EXECUTE')
  UNION ALL
  SELECT pg_catalog.format('role %s writes %s but has no USAGE on schema %s of function %s, which %s calls',
           w.role::pg_catalog.regrole, $2::pg_catalog.text, f.pronamespace::pg_catalog.regnamespace,
           f.oid::pg_catalog.regprocedure, $3::pg_catalog.text),
         pg_catalog.format('GRANT USAGE ON SCHEMA %s TO %s', f.pronamespace::pg_catalog.regnamespace, w.role::pg_catalog.regrole)
    FROM writers AS w CROSS JOIN fns JOIN pg_catalog.pg_proc AS f ON f.oid OPERATOR(pg_catalog.=) fns.fn
   WHERE NOT pg_catalog.has_schema_privilege(w.role, f.pronamespace, 'USAGE')
)
SELECT d.problem, d.fix FROM (SELECT DISTINCT found.problem, found.fix FROM found) AS d
 ORDER BY d.problem COLLATE "C", d.fix COLLATE "C"`;

/**
 * The parts of the message and hint of a refusal when roles that write `table` could not run the conversion of `change`
 * (its id): `when` says from when their writes would fail (e.g. `from phase 1 on`). Pure: shared by plan and the check
 * the generated files run (src/render/conversion-check.ts), which prints each GRANT on a line of its own between
 * `hintStart` and its own end (plan's is `planHintEnd`).
 */
export function conversionExecuteText(
  change: string,
  table: string,
  when: string,
): { messageStart: string; hintStart: string; planHintEnd: string } {
  return {
    messageStart:
      `the conversion of change ${change} runs in the sync trigger with the rights of each role that writes ${table} ` +
      `(SECURITY INVOKER), and some of those roles may not run it, so their writes would fail ${when}: `,
    hintStart: 'grant what is missing (one statement a line; as printed, e.g. pasted into psql):\n',
    planHintEnd: 'or take the function out of the expression; then plan again',
  };
}

/** One GRANT of a refusal's hint, as printed: a line of its own, ending in ';'. Pure. */
export function conversionGrantLine(fix: string): string {
  return `    ${fix};\n`;
}

/** The message and hint when roles that write `table` could not run the conversion of `change`. Pure. */
export function conversionExecuteError(
  change: string,
  table: string,
  problems: TrustProblem[],
): { message: string; hint: string } {
  const fixes = [...new Set(problems.map((found) => found.fix))];
  const text = conversionExecuteText(change, table, 'from phase 1 on');
  return {
    message: text.messageStart + problems.map((found) => found.problem).join('; '),
    // One statement a line, each ending in ';': a role's name may hold '; ' itself.
    hint: text.hintStart + fixes.map(conversionGrantLine).join('') + text.planHintEnd,
  };
}
