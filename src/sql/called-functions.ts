/**
 * Following what a function calls in turn, as far as PostgreSQL records it. pg_depend holds a function's callees
 * only for SQL-standard bodies (`LANGUAGE sql` with `BEGIN ATOMIC … END` or `RETURN …`): the functions and operators
 * they name. A plpgsql body, or a `LANGUAGE sql` body given as a string, is kept as text and resolved when it runs:
 * PostgreSQL records nothing of what it calls, so that is not followed (docs/privileges.md says so).
 */

/** How many functions deep a chain is followed (callers included); cycles stop earlier. */
export const CALL_CHAIN_DEPTH = 8;

/**
 * The text of a recursive CTE `name(what, fn, through, path)` for a `WITH RECURSIVE` query that also defines
 * `trusted(role)`. `start` is a SELECT of the callers, one row each: `what` (text) names where the call happens,
 * `fn` (oid) the function called there, `through` (text) how (e.g. ` (operator …)`), `path` (oid[]) `ARRAY[fn]`.
 * Each further row is a function that a function of a row calls, directly or as the function of an operator, phrased
 * `<what> calls function <caller><through>, which` so a problem reads `… which calls function <callee>, owned by …`.
 * Only trusted callers are followed (an untrusted one is a problem itself: its body may call anything).
 */
export function callChainCte(name: string, start: string): string {
  const proc = `'pg_catalog.pg_proc'::pg_catalog.regclass`;
  return `${name}(what, fn, through, path) AS (
  ${start}
  UNION ALL
  SELECT pg_catalog.format('%s calls function %s%s, which', c.what, c.fn::pg_catalog.regprocedure, c.through),
         callee.fn, callee.through, c.path OPERATOR(pg_catalog.||) callee.fn
    FROM ${name} AS c JOIN pg_catalog.pg_proc AS caller ON caller.oid OPERATOR(pg_catalog.=) c.fn
    CROSS JOIN LATERAL (
      SELECT d.refobjid, ''::pg_catalog.text FROM pg_catalog.pg_depend AS d
       WHERE d.classid OPERATOR(pg_catalog.=) ${proc} AND d.objid OPERATOR(pg_catalog.=) c.fn
         AND d.refclassid OPERATOR(pg_catalog.=) ${proc}
      UNION ALL
      SELECT op.oprcode::pg_catalog.oid, pg_catalog.format(' (operator %s)', op.oid::pg_catalog.regoperator)
        FROM pg_catalog.pg_depend AS d JOIN pg_catalog.pg_operator AS op ON op.oid OPERATOR(pg_catalog.=) d.refobjid
       WHERE d.classid OPERATOR(pg_catalog.=) ${proc} AND d.objid OPERATOR(pg_catalog.=) c.fn
         AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_operator'::pg_catalog.regclass
    ) AS callee(fn, through)
   WHERE pg_catalog.cardinality(c.path) OPERATOR(pg_catalog.<) ${CALL_CHAIN_DEPTH}
     AND NOT callee.fn OPERATOR(pg_catalog.=) ANY (c.path)
     AND EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) caller.proowner)
)`;
}

/**
 * The rows of `found(problem, fix)` for the chain CTE `name`: each function reached through a trusted caller that a
 * role outside `trusted` owns, with the `ALTER FUNCTION … OWNER TO` that hands it to `new_owner(name)`.
 */
export function calledFunctionProblems(name: string): string {
  return `SELECT pg_catalog.format('%s calls function %s%s, owned by role %s', ch.what, f.oid::pg_catalog.regprocedure,
           ch.through, f.proowner::pg_catalog.regrole),
         pg_catalog.format('ALTER FUNCTION %s OWNER TO %s', f.oid::pg_catalog.regprocedure, o.name)
    FROM ${name} AS ch JOIN pg_catalog.pg_proc AS f ON f.oid OPERATOR(pg_catalog.=) ch.fn CROSS JOIN new_owner AS o
   WHERE pg_catalog.cardinality(ch.path) OPERATOR(pg_catalog.>) 1
     AND NOT EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) f.proowner)`;
}
