/**
 * Comparison by identity, for everything that decides whether two columns are in sync (trigger WHEN clauses,
 * sync functions, backfill filters, verify).
 *
 * A type's own `=` is not identity: citext ('a' = 'A'), a nondeterministic collation, numeric (1.0 = 1.00),
 * interval ('1 day' = '24 hours'), float (-0 = 0), arrays and composites of them all call values equal that
 * are not the same value, so a write changing only case or scale would never be copied. PostgreSQL's record
 * image operators (`*=`, `*<>`, used by REFRESH MATERIALIZED VIEW CONCURRENTLY) compare the binary image of
 * each field instead: detoasted and decompressed first, NULL equal to NULL, and independent of session
 * settings (DateStyle, extra_float_digits) that a comparison of text forms would depend on.
 *
 * The rows are cast to `record`: a comparison of two bare `ROW(…)` constructors would be split into one
 * comparison per field with the field type's operator, the very thing to avoid. Both sides must hold the
 * same types (PostgreSQL refuses to compare dissimilar column types). The operator is schema-qualified so
 * that no operator planted in another schema can be picked, whatever the search_path.
 */

function row(values: readonly string[]): string {
  return `ROW(${values.join(', ')})::pg_catalog.record`;
}

/**
 * Types whose own `=` already is identity, so that a plain comparison can replace the record image (which forms two
 * records per comparison: about five times the cost, paid on every write through the sync trigger). `text` and
 * `character varying` compare byte for byte under the deterministic collation "C" (whatever the column's own
 * collation); the others' `=` holds only for the same binary value. Spelled as format_type prints them (plus the
 * usual aliases someone may write as `rename.type`); any other type, arrays, domains and every type not listed
 * (numeric, float, interval, citext, timetz, character(n), json/jsonb, …) keep the record image.
 */
const BYTE_EQUAL_TEXT = /^(text|character varying|varchar)(\(\d+\))?$/;
const EXACT =
  /^(smallint|integer|bigint|int2|int4|int8|int|boolean|bool|uuid|date|bytea|oid|timestamp(\(\d\))?( with(out)? time zone)?|timestamptz(\(\d\))?|time(\(\d\))?( without time zone)?)$/;

/** How the values of `type` compare by identity without the record image, if they can. Pure. */
function plainIdentity(type: string | undefined): { collate: string } | undefined {
  if (type === undefined) return undefined;
  const spelled = type.trim().toLowerCase().replace(/\s+/g, ' ');
  if (BYTE_EQUAL_TEXT.test(spelled)) return { collate: ' COLLATE pg_catalog."C"' };
  if (EXACT.test(spelled)) return { collate: '' };
  return undefined;
}

/**
 * `a` and `b` identical for a type whose `=` is identity (plainIdentity): both NULL, or equal. Only qualified
 * operators and IS [NOT] NULL, so the text looks nothing up by name in any search_path.
 */
function plainIdentical(a: string, b: string, collate: string): string {
  return `((${a}) IS NULL AND (${b}) IS NULL OR ((${a})${collate} OPERATOR(pg_catalog.=) (${b})${collate}) IS TRUE)`;
}

/**
 * SQL that is true when the values `a` and `b` (lists of the same length and types) differ by identity. `type`, for
 * two single values of that type, allows the cheaper plain comparison where the type's `=` is identity.
 */
export function differs(a: string | readonly string[], b: string | readonly string[], type?: string): string {
  const plain = typeof a === 'string' && typeof b === 'string' ? plainIdentity(type) : undefined;
  if (plain) return `NOT ${plainIdentical(a as string, b as string, plain.collate)}`;
  return `${row(typeof a === 'string' ? [a] : a)} OPERATOR(pg_catalog.*<>) ${row(typeof b === 'string' ? [b] : b)}`;
}

/** SQL that is true when the values `a` and `b` are identical (NULL is identical to NULL); `type` as for differs. */
export function identical(a: string | readonly string[], b: string | readonly string[], type?: string): string {
  const plain = typeof a === 'string' && typeof b === 'string' ? plainIdentity(type) : undefined;
  if (plain) return plainIdentical(a as string, b as string, plain.collate);
  return `${row(typeof a === 'string' ? [a] : a)} OPERATOR(pg_catalog.*=) ${row(typeof b === 'string' ? [b] : b)}`;
}
