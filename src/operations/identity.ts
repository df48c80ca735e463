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

/** SQL that is true when the values `a` and `b` (lists of the same length and types) differ by identity. */
export function differs(a: string | readonly string[], b: string | readonly string[]): string {
  return `${row(typeof a === 'string' ? [a] : a)} OPERATOR(pg_catalog.*<>) ${row(typeof b === 'string' ? [b] : b)}`;
}

/** SQL that is true when the values `a` and `b` are identical (NULL is identical to NULL). */
export function identical(a: string | readonly string[], b: string | readonly string[]): string {
  return `${row(typeof a === 'string' ? [a] : a)} OPERATOR(pg_catalog.*=) ${row(typeof b === 'string' ? [b] : b)}`;
}
