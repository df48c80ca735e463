import {
  CONVERSION_CODE_SQL,
  CONVERSION_EXECUTE_SQL,
  conversionCodeText,
  conversionExecuteText,
  conversionViewSql,
} from '../sql/conversion-code.js';
import { dollarTag } from './environment.js';
import { qualify, quoteLiteral } from './quote.js';

const VIEW = 'pg_temp.phasectl_conversion_check';

/** A conversion as a SELECT over the table, and how a refusal names it (src/operations/conversion-selects.ts). */
interface ConversionSelect {
  label: string;
  select: string;
}

/**
 * A loop of the DO block below over the rows (problem, fix) that `query.sql` (src/sql/conversion-code.ts) returns for
 * the conversion's view: each problem is appended to the PL/pgSQL variable `into.problems` ('; ' between), each fix to
 * the array `into.fixes` unless it is there already. The query takes the view, the table (`qualified`), the
 * conversion's label and `query.arg4` (SQL text, cast to text). Each line starts with `indent`, but the query's own
 * (inside its dollar quotes, as it is).
 */
function collectRows(
  indent: string,
  query: { tag: string; sql: string; arg4: string },
  qualified: string,
  into: { problems: string; fixes: string },
): string {
  const tag = dollarTag(query.tag, query.sql);
  const { problems, fixes } = into;
  return `${indent}FOR item IN EXECUTE ${tag}${query.sql}${tag}
${indent}  USING ${quoteLiteral(VIEW)}::pg_catalog.text, ${quoteLiteral(qualified)}::pg_catalog.text, conversion.label,
${indent}    ${query.arg4}::pg_catalog.text
${indent}LOOP
${indent}  ${problems} := pg_catalog.concat_ws('; ', ${problems}, item.problem);
${indent}  IF pg_catalog.array_position(${fixes}, item.fix) IS NULL THEN
${indent}    ${fixes} := pg_catalog.array_append(${fixes}, item.fix);
${indent}  END IF;
${indent}END LOOP;`;
}

/**
 * The DO block a generated file runs before the conversions of change `changeId` on `schema.table` first run (phase
 * 1's expand creates the sync function that runs them on every write; its backfill runs them on every row): each
 * conversion of `selects` becomes a temporary view (nothing is evaluated), CONVERSION_CODE_SQL reads what its
 * dependencies name (src/sql/conversion-code.ts, the query plan runs), and the block raises plan's message and hint
 * when another role's code is among it. Each is resolved twice: with the file's path, as the sync function does, and
 * with the schemas `keySchemasQuery` (keyOperatorSchemasQuery) lists appended, as the backfill's walk does: there an
 * exact-type operator in such a schema beats a built-in that needs a cast.
 *
 * Then, as plan did (CONVERSION_EXECUTE_SQL, with the file's path only: the sync function's), it raises when a role
 * that writes the table may not run the conversion (EXECUTE on a function it calls, USAGE on that function's schema):
 * the sync functions are SECURITY INVOKER, so that role's writes would fail once this file creates the sync. A role
 * granted writes, or a REVOKE, since plan is caught here, by every runner (psql, Flyway, …), before anything
 * changes. `written.column` is the column of the table whose UPDATE fires the sync as it exists when the block runs
 * (phase 1: the old one; the rollback of phase 3: the new one, whose grants the old one gets back), `written.when` says
 * from when such writes would fail. Empty when the change converts nothing. Pure.
 */
export function conversionCheckSql(
  schema: string,
  table: string,
  changeId: string,
  selects: ConversionSelect[],
  keySchemasQuery: string,
  written: { column: string; when: string },
): string {
  if (selects.length === 0) return '';
  const qualified = qualify(schema, table);
  const text = conversionCodeText(changeId, qualified);
  const execute = conversionExecuteText(changeId, qualified, written.when);
  const executeHintEnd =
    'or take the function out of the expression (a new plan); then run the same phasectl command again (nothing was changed)';
  const conversions = selects
    .map(({ label, select }) => `(${quoteLiteral(label)}, ${quoteLiteral(conversionViewSql(VIEW, select))})`)
    .join(',\n      ');
  // Another role's code among what the view calls ($4: no SQL-standard function body whose dependencies count too).
  const codeLoop = collectRows(
    '    ',
    { tag: 'phasectl_conversion_code', sql: CONVERSION_CODE_SQL, arg4: 'NULL' },
    qualified,
    { problems: 'problems', fixes: 'fixes' },
  );
  // The roles that write the table (through `written.column`) and may not run what the view calls.
  const executeLoop = collectRows(
    '      ',
    { tag: 'phasectl_conversion_execute', sql: CONVERSION_EXECUTE_SQL, arg4: quoteLiteral(written.column) },
    qualified,
    { problems: 'denied', fixes: 'grants' },
  );
  const body = `
DECLARE
  saved_path text := pg_catalog.current_setting('search_path');
  -- The backfill walks the key with its operators' schemas (e.g. citext's) on the path: resolve there too.
  key_path text := COALESCE((
    SELECT pg_catalog.string_agg(', ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(s.schema), '') FROM (${keySchemasQuery}) AS s), '');
  conversion record;
  item record;
  problems text;
  fixes text[] := ARRAY[]::pg_catalog.text[];
  denied text;
  grants text[] := ARRAY[]::pg_catalog.text[];
BEGIN
  FOR conversion IN
    SELECT c.label, c.view_sql, p.extra FROM (VALUES
      ${conversions}) AS c(label, view_sql)
    CROSS JOIN (SELECT '' UNION SELECT key_path) AS p(extra)
  LOOP
    DROP VIEW IF EXISTS ${VIEW};
    PERFORM pg_catalog.set_config('search_path', saved_path OPERATOR(pg_catalog.||) conversion.extra, true);
    EXECUTE conversion.view_sql;
    PERFORM pg_catalog.set_config('search_path', saved_path, true);
${codeLoop}
    -- Each role that writes the table runs the conversion in the sync trigger (SECURITY INVOKER), with the file's path.
    IF conversion.extra OPERATOR(pg_catalog.=) '' THEN
${executeLoop}
    END IF;
    DROP VIEW ${VIEW};
  END LOOP;
  IF problems IS NOT NULL THEN
    RAISE EXCEPTION '%', pg_catalog.concat(${quoteLiteral(text.messageStart)}, problems)
      USING HINT = pg_catalog.concat(${quoteLiteral(text.hintStart)}, pg_catalog.array_to_string(fixes, '; '),
        ${quoteLiteral(text.hintEnd)});
  END IF;
  IF denied IS NOT NULL THEN
    -- The GRANTs one a line, each ending in ';': a role's name may hold '; ' itself.
    RAISE EXCEPTION '%', pg_catalog.concat('phasectl: ', ${quoteLiteral(execute.messageStart)}, denied)
      USING HINT = pg_catalog.concat(${quoteLiteral(execute.hintStart)},
        (SELECT pg_catalog.string_agg('    ' OPERATOR(pg_catalog.||) g.fix OPERATOR(pg_catalog.||) E';\\n', '' ORDER BY g.n)
           FROM pg_catalog.unnest(grants) WITH ORDINALITY AS g(fix, n)),
        ${quoteLiteral(executeHintEnd)});
  END IF;
END
`;
  const tag = dollarTag('phasectl_conversion', body);
  return (
    `-- Stop before the conversion runs if it would call another role's code, or if a role that writes the table may not\n` +
    `-- run it (docs/privileges.md): each conversion is read through a temporary view (nothing is evaluated), dropped again.\n` +
    `DO ${tag}${body}${tag};`
  );
}
