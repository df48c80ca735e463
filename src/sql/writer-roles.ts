/**
 * Whether role `role` (an SQL expression of type oid) writes `table` (an SQL expression of type regclass) so that a
 * `BEFORE INSERT OR UPDATE OF <columns>` row trigger on it fires as that role: the one definition of "the roles that
 * write a table" for the checks of what a SECURITY INVOKER sync runs with the writer's rights (a rename's conversion
 * functions, src/sql/conversion-code.ts; a move's reads and writes of the partner, src/operations/move-writer-access.ts).
 * `columns` are SQL expressions of type text, the names of the columns whose UPDATE fires the trigger.
 *
 * A role writes the table when it may INSERT into it (any column: a row inserted fires the trigger whatever it sets),
 * or into a partition of it (the row trigger is cloned onto every partition and fires there as the role writing it
 * directly; the same for UPDATE below),
 * UPDATE one of `columns`, or do either through a view or a rule of another relation whose owner has the rights. For
 * such a view (not `security_invoker`) PostgreSQL checks the table's privileges as the view's owner, but `current_user`
 * stays the role writing: the table's triggers, and every function they call, run with its rights (checked on
 * PostgreSQL 15: a role with INSERT on another owner's view only got "permission denied for function" from a
 * function the trigger called). So every relation whose rules name the table counts, over views of views, except
 * `security_invoker` views (PostgreSQL checks the relations under them as the role writing, even below another
 * owner's view: that role needs the rights there itself, and counts there). On such a relation, INSERT counts; UPDATE
 * counts when the update can reach `columns`: a plain view's update assigns only columns it names, so a view (or a view
 * over it) whose query names none of `columns` of the table cannot fire the trigger by an update. A view over a view
 * that names them counts whatever columns of it it names, and a rule other than a view's query (`DO INSTEAD` and
 * `DO ALSO` rules) counts whatever it names: its action may write any column. Pure.
 */
export function writesTableSql(role: string, table: string, columns: readonly string[]): string {
  const names = `ARRAY[${columns.join(', ')}]::pg_catalog.name[]`;
  const inTree = (relid: string) => `${relid} OPERATOR(pg_catalog.=) ANY (SELECT tree.relid FROM tree)`;
  const updates = columns.map((column) => `pg_catalog.has_column_privilege(${role}, via.relid, ${column}, 'UPDATE')`);
  // The table and, when it is partitioned, every partition under it: the sync trigger is cloned onto each, and a
  // role that writes a partition directly fires it there as itself.
  return `EXISTS (
        WITH RECURSIVE tree(relid) AS (
          SELECT (${table})::pg_catalog.oid
          UNION
          SELECT pt.relid::pg_catalog.oid FROM pg_catalog.pg_partition_tree(${table}) AS pt
        ), via(relid, updates) AS (
          SELECT tree.relid, true FROM tree
          UNION
          SELECT rw.ev_class,
                 rw.rulename OPERATOR(pg_catalog.<>) '_RETURN'
                   OR (NOT ${inTree('via.relid')} AND via.updates)
                   OR (${inTree('via.relid')} AND d.refobjsubid OPERATOR(pg_catalog.=) ANY (
                        SELECT a.attnum FROM pg_catalog.pg_attribute AS a
                         WHERE a.attrelid OPERATOR(pg_catalog.=) via.relid
                           AND a.attname OPERATOR(pg_catalog.=) ANY (${names})))
            FROM via
            JOIN pg_catalog.pg_depend AS d
              ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
             AND d.refobjid OPERATOR(pg_catalog.=) via.relid
             AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass
            JOIN pg_catalog.pg_rewrite AS rw ON rw.oid OPERATOR(pg_catalog.=) d.objid
            JOIN pg_catalog.pg_class AS v ON v.oid OPERATOR(pg_catalog.=) rw.ev_class
           WHERE rw.ev_class OPERATOR(pg_catalog.<>) via.relid
             AND NOT EXISTS (SELECT FROM pg_catalog.pg_options_to_table(v.reloptions) AS o
                              WHERE o.option_name OPERATOR(pg_catalog.=) 'security_invoker'
                                AND o.option_value::pg_catalog.bool))
        SELECT FROM via
         WHERE pg_catalog.has_any_column_privilege(${role}, via.relid, 'INSERT')
            OR (${inTree('via.relid')} AND (${updates.join(' OR ')}))
            OR (NOT ${inTree('via.relid')} AND via.updates
                AND pg_catalog.has_any_column_privilege(${role}, via.relid, 'UPDATE')))`;
}
