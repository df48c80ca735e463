/**
 * The child tables by `INHERITS` of a table (partitions are not: the sync triggers are cloned to them), as one text
 * (`child, child`) or NULL. Row triggers are per table, so a change's sync never fires for a child's rows: an insert
 * there fails on the inherited NOT NULL stand-in (or leaves the new column empty), an update changes one column only,
 * and phase 3 drops the old column from the child with the values written there. `plan` refuses such a table
 * with this query (src/catalog/inheritance.ts), and phase 1's expand step (templates/shared/inheritance-guard.hbs)
 * and the gates of phases 2 and 3 (src/runner/sync-in-place.ts) run it again, for a child created since. `table` is
 * an SQL expression of type regclass. Pure.
 */
export function inheritanceChildrenSql(table: string): string {
  return `SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', n.nspname, k.relname), ', '
           ORDER BY n.nspname, k.relname) AS children
      FROM pg_catalog.pg_inherits AS h
      JOIN pg_catalog.pg_class AS k ON k.oid OPERATOR(pg_catalog.=) h.inhrelid
      JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) k.relnamespace
     WHERE h.inhparent OPERATOR(pg_catalog.=) ${table} AND NOT k.relispartition`;
}
