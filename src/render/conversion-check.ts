import { CONVERSION_CODE_SQL, conversionCodeText, conversionViewSql } from '../sql/conversion-code.js';
import { dollarTag } from './environment.js';
import { qualify, quoteLiteral } from './quote.js';

const VIEW = 'pg_temp.phasectl_conversion_check';

/** A conversion as a SELECT over the table, and how a refusal names it (src/operations/conversion-selects.ts). */
interface ConversionSelect {
  label: string;
  select: string;
}

/**
 * The DO block a generated file runs before the conversions of change `changeId` on `schema.table` first run (phase
 * 1's expand creates the sync function that runs them on every write; its backfill runs them on every row): each
 * conversion of `selects` becomes a temporary view (nothing is evaluated), CONVERSION_CODE_SQL reads what its
 * dependencies name (src/sql/conversion-code.ts, the query plan runs), and the block raises plan's message and hint
 * when another role's code is among it. Each is resolved twice: with the file's path, as the sync function does, and
 * with the schemas `keySchemasQuery` (keyOperatorSchemasQuery) lists appended, as the backfill's walk does: there an
 * exact-type operator in such a schema beats a built-in that needs a cast. Empty when the change converts nothing.
 * Pure.
 */
export function conversionCheckSql(
  schema: string,
  table: string,
  changeId: string,
  selects: ConversionSelect[],
  keySchemasQuery: string,
): string {
  if (selects.length === 0) return '';
  const qualified = qualify(schema, table);
  const text = conversionCodeText(changeId, qualified);
  const query = `${dollarTag('phasectl_conversion_code', CONVERSION_CODE_SQL)}`;
  const conversions = selects
    .map(({ label, select }) => `(${quoteLiteral(label)}, ${quoteLiteral(conversionViewSql(VIEW, select))})`)
    .join(',\n      ');
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
    FOR item IN EXECUTE ${query}${CONVERSION_CODE_SQL}${query}
      USING ${quoteLiteral(VIEW)}::pg_catalog.text, ${quoteLiteral(qualified)}::pg_catalog.text, conversion.label,
        NULL::pg_catalog.text
    LOOP
      problems := pg_catalog.concat_ws('; ', problems, item.problem);
      IF pg_catalog.array_position(fixes, item.fix) IS NULL THEN
        fixes := pg_catalog.array_append(fixes, item.fix);
      END IF;
    END LOOP;
    DROP VIEW ${VIEW};
  END LOOP;
  IF problems IS NOT NULL THEN
    RAISE EXCEPTION '%', pg_catalog.concat(${quoteLiteral(text.messageStart)}, problems)
      USING HINT = pg_catalog.concat(${quoteLiteral(text.hintStart)}, pg_catalog.array_to_string(fixes, '; '),
        ${quoteLiteral(text.hintEnd)});
  END IF;
END
`;
  const tag = dollarTag('phasectl_conversion', body);
  return (
    `-- Stop before the conversion runs if it would call another role's code (docs/privileges.md): each conversion is\n` +
    `-- read through a temporary view (nothing is evaluated), dropped again.\nDO ${tag}${body}${tag};`
  );
}
