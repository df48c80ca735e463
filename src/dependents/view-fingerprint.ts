/**
 * The SQL expression of a view's fingerprint (`c` is its pg_class row): what `plan` records and phase 3's guard
 * recomputes (src/dependents/views.ts computes the same from the record). Both read it with
 * `search_path = pg_catalog, pg_temp`, where pg_get_viewdef qualifies every name.
 */
export const VIEW_FINGERPRINT_SQL =
  "pg_catalog.md5(pg_catalog.pg_get_viewdef(c.oid) || E'\\n' || COALESCE(pg_catalog.array_to_string(c.reloptions, ','), ''))";
