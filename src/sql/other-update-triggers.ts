/**
 * BEFORE UPDATE row triggers on a table or any of its partitions, other than phasectl's own, that may set a column on
 * an update that does not name it: the reason a rename's update trigger cannot keep its column lists
 * (templates/rename/partials/update-trigger-form.hbs, which chooses the form; src/runner/update-trigger-form.ts, the
 * gate of phase 2). A trigger whose own column list names only the two synced columns does not count: it fires only
 * when the sync trigger does. One row per trigger: `name` (quoted, `trigger on table`). `table` is an SQL expression
 * of type regclass, `columns` one of type name[] (the two synced columns). Pure.
 */
export function otherUpdateTriggersSql(table: string, columns: string): string {
  return `SELECT pg_catalog.format('%I on %s', t.tgname, t.tgrelid::pg_catalog.regclass) AS name
      FROM pg_catalog.pg_trigger AS t
      JOIN pg_catalog.pg_proc AS p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
      JOIN pg_catalog.pg_namespace AS n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
     WHERE (t.tgrelid OPERATOR(pg_catalog.=) ${table}
            OR t.tgrelid IN (SELECT pt.relid FROM pg_catalog.pg_partition_tree(${table}) AS pt))
       AND NOT t.tgisinternal
       AND (t.tgtype OPERATOR(pg_catalog.&) 19) OPERATOR(pg_catalog.=) 19  -- FOR EACH ROW (1), BEFORE (2), UPDATE (16)
       -- phasectl's own sync triggers (this change's, another change's) set only their own columns.
       AND n.nspname OPERATOR(pg_catalog.<>) 'phasectl'
       AND (pg_catalog.cardinality(t.tgattr::pg_catalog.int2[]) OPERATOR(pg_catalog.=) 0
            OR EXISTS (SELECT FROM pg_catalog.unnest(t.tgattr::pg_catalog.int2[]) AS c(attnum)
                       JOIN pg_catalog.pg_attribute AS a ON a.attrelid OPERATOR(pg_catalog.=) t.tgrelid
                                                         AND a.attnum OPERATOR(pg_catalog.=) c.attnum
                       WHERE a.attname OPERATOR(pg_catalog.<>) ALL (${columns})))`;
}
