import { UNTRUSTED_CODE_SQL, untrustedCodeText } from '../sql/untrusted-code.js';
import { qualify, quoteLiteral } from './quote.js';

/** A text[] literal of `values`: `ARRAY['a', 'b']::pg_catalog.text[]`. */
function textArray(values: string[]): string {
  return `ARRAY[${values.map(quoteLiteral).join(', ')}]::pg_catalog.text[]`;
}

/**
 * The DO block a generated file runs before a step that runs code on the rows of `schema.table` as the role applying
 * it (phase 1's ADD COLUMN computes the new column's domain on every row, the backfill writes every row): it runs
 * UNTRUSTED_CODE_SQL (src/sql/untrusted-code.ts, the query phasectl's own runner uses) for the table, the `columns`
 * the step writes and the `types` it converts to, and raises the runner's own message and hint when it finds
 * anything, before the step changes a row. So teams applying the files with another runner get the same refusal.
 * Pure.
 */
export function untrustedCodeCheckSql(schema: string, table: string, columns: string[], types: string[]): string {
  const qualified = qualify(schema, table);
  const text = untrustedCodeText(qualified);
  const body = `
DECLARE
  item record;
  problems text;
  fixes text[] := ARRAY[]::pg_catalog.text[];
BEGIN
  FOR item IN EXECUTE $phasectl_untrusted_code$${UNTRUSTED_CODE_SQL}$phasectl_untrusted_code$
    USING ${quoteLiteral(qualified)}::pg_catalog.text, ${textArray(columns)}, ${textArray(types)}
  LOOP
    problems := pg_catalog.concat_ws('; ', problems, item.problem);
    IF pg_catalog.array_position(fixes, item.fix) IS NULL THEN
      fixes := pg_catalog.array_append(fixes, item.fix);
    END IF;
  END LOOP;
  IF problems IS NOT NULL THEN
    RAISE EXCEPTION '%', pg_catalog.concat(${quoteLiteral(text.messageStart)}, problems)
      USING HINT = pg_catalog.concat(${quoteLiteral(text.hintStart)}, pg_catalog.array_to_string(fixes, '; '),
        ${quoteLiteral(text.hintEnd)});
  END IF;
END
`;
  return (
    `-- Stop before any row is written if that would run another role's code as the role applying this file ` +
    `(docs/privileges.md).\nDO $phasectl_trust$${body}$phasectl_trust$;`
  );
}
