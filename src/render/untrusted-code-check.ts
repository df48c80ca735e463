import { UNTRUSTED_CODE_SQL, untrustedCodeText } from '../sql/untrusted-code.js';
import { qualify, quoteLiteral } from './quote.js';

/** The function generated files call to refuse another role's code: one home, in phasectl's state schema. */
export const UNTRUSTED_CODE_FUNCTION = 'phasectl.refuse_untrusted_code(text, text[], text[])';

/** The setting the function runs with besides its search_path; the runner replaces a function without it. */
export const UNTRUSTED_CODE_FUNCTION_CONFIG = 'jit=off';

/** A text[] literal of `values`: `ARRAY['a', 'b']::pg_catalog.text[]`. */
function textArray(values: string[]): string {
  return `ARRAY[${values.map(quoteLiteral).join(', ')}]::pg_catalog.text[]`;
}

/**
 * `CREATE OR REPLACE FUNCTION phasectl.refuse_untrusted_code(table, columns, types)`: runs UNTRUSTED_CODE_SQL
 * (src/sql/untrusted-code.ts, the query phasectl's own runner uses, verbatim) and raises the runner's own message and
 * hint when it finds anything. SECURITY INVOKER (it reads the catalog as the role applying the file) with a fixed
 * search_path, and JIT off (${UNTRUSTED_CODE_FUNCTION_CONFIG}: on a large catalog the query's estimate passes
 * jit_above_cost and compiling it cost 300-700 ms a call, the query 2-10 ms). Created with the state schema (templates/shared/state-schema.hbs, after its guard vouched for the schema)
 * and by the runner (src/session/state-schema.ts), so a schema an older phasectl created gets it too. Pure.
 */
export function untrustedCodeFunctionSql(): string {
  return `-- The check a step runs before it writes a table: refuse when that would run another role's code as the role
-- applying it (docs/privileges.md). $1 the table ("schema"."table"), $2 the columns the step writes, $3 the types it
-- converts values to.
CREATE OR REPLACE FUNCTION ${UNTRUSTED_CODE_FUNCTION} RETURNS void
LANGUAGE plpgsql STABLE SECURITY INVOKER SET search_path = pg_catalog, pg_temp SET jit = off
AS $phasectl_trust$${untrustedCodeFunctionBody()}$phasectl_trust$;`;
}

/** The body of phasectl.refuse_untrusted_code (its `prosrc`: the runner compares it to replace an older one). Pure. */
export function untrustedCodeFunctionBody(): string {
  const text = untrustedCodeText('');
  return `
DECLARE
  item record;
  problems text;
  fixes text[] := ARRAY[]::pg_catalog.text[];
BEGIN
  FOR item IN EXECUTE $phasectl_untrusted_code$${UNTRUSTED_CODE_SQL}$phasectl_untrusted_code$
    USING $1, $2, $3
  LOOP
    problems := pg_catalog.concat_ws('; ', problems, item.problem);
    IF pg_catalog.array_position(fixes, item.fix) IS NULL THEN
      fixes := pg_catalog.array_append(fixes, item.fix);
    END IF;
  END LOOP;
  IF problems IS NOT NULL THEN
    RAISE EXCEPTION '%', pg_catalog.concat($1, ${quoteLiteral(text.messageStart)}, problems)
      USING HINT = pg_catalog.concat(${quoteLiteral(text.hintStart)}, pg_catalog.array_to_string(fixes, '; '),
        ${quoteLiteral(text.hintEnd)});
  END IF;
END
`;
}

/**
 * What a generated file runs before a step that runs code on the rows of `schema.table` as the role applying it
 * (phase 1's ADD COLUMN computes the new column's domain on every row, the backfill writes every row): a call of
 * phasectl.refuse_untrusted_code for the table, the `columns` the step writes and the `types` it converts to, before
 * the step changes a row. So teams applying the files with another runner get the runner's refusal. The call first
 * makes sure the function is there and belongs to a role the state schema's guard would trust (the current role, a
 * role it is a member of, a superuser): it runs with this role's rights. Pure.
 */
export function untrustedCodeCheckSql(schema: string, table: string, columns: string[], types: string[]): string {
  const args = `${quoteLiteral(qualify(schema, table))}::pg_catalog.text, ${textArray(columns)}, ${textArray(types)}`;
  return `-- Stop before any row is written if that would run another role's code as the role applying this file
-- (docs/privileges.md): phasectl.refuse_untrusted_code, created with phasectl's state schema, raises. It runs with
-- this role's rights, so first make sure it and its schema belong to a role the state schema's guard trusts: this
-- role, a role it is a member of, a superuser (a superuser applying the file is not taken for a member of all roles).
DO $phasectl_trust$
BEGIN
  IF NOT EXISTS (
    WITH RECURSIVE member_of(role) AS (
      SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER
      UNION
      SELECT m.roleid FROM pg_catalog.pg_auth_members AS m JOIN member_of ON m.member OPERATOR(pg_catalog.=) member_of.role
    ), trusted(role) AS (
      SELECT role FROM member_of UNION SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolsuper
    )
    SELECT FROM pg_catalog.pg_proc AS p JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
     WHERE p.oid OPERATOR(pg_catalog.=) pg_catalog.to_regprocedure(${quoteLiteral(UNTRUSTED_CODE_FUNCTION)})
       AND EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) p.proowner)
       AND EXISTS (SELECT FROM trusted WHERE trusted.role OPERATOR(pg_catalog.=) n.nspowner)
  ) THEN
    RAISE EXCEPTION 'phasectl: function ${UNTRUSTED_CODE_FUNCTION} is missing or not trusted by %', CURRENT_USER
      USING HINT = 'phasectl migrate and phase 1 expand files create it; it and schema phasectl must belong to this '
        'role, a role it is a member of or a superuser (docs/privileges.md)';
  END IF;
  PERFORM phasectl.refuse_untrusted_code(${args});
END
$phasectl_trust$;`;
}
