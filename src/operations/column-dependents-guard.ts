/**
 * Phase 3's guard on everything else PostgreSQL records as depending on the dropped column (pg_depend), read from the
 * database when phase 3 runs, not from `plan`'s record. `ALTER TABLE … DROP COLUMN` (no CASCADE) either fails on a
 * dependent object (a policy, a publication's column list or row filter, a foreign key of another table, a stored
 * generated column, a `BEGIN ATOMIC` function: "cannot drop column … because other objects depend on it") or drops it
 * silently with the column (an index, a constraint, a statistics object, an owned sequence). `plan` refuses or carries
 * each of those; one created after `plan` is unknown to the generated SQL. For a move, the failure would come in the
 * contract, after the unsync step had already committed: the phase half done, PostgreSQL's raw error. So the guard runs
 * before anything changes (the rename's contract, the move's unsync and contract), names each object and the fix.
 *
 * Left to the other guards (not repeated here): views and rules (pg_rewrite: guard-views, guard-source-views,
 * guard-rules) and triggers (guard-trigger-definitions; phasectl's own sync triggers go before the drop). Exempt, as
 * phase 3 handles them before the drop: what `plan` recorded (a rename's foreign keys of other tables, dropped first;
 * virtual generated columns, re-pointed; the column's own indexes and constraints, copied by phase 1) and what a
 * rename's contract carries over just before the drop: a sequence the column owns (given to the new column) and the
 * replica identity index when its copy from phase 1 can take over (carry-owned-sequences.hbs,
 * carry-replica-identity.hbs). Pure.
 * docs/supported-postgres.md has the table of what DROP COLUMN does with each kind.
 */
import { qualify, quoteLiteral } from '../render/quote.js';
import { displayIdentifier } from '../spec/identifiers.js';

export interface ColumnDependentsGuardInput {
  changeId: string;
  /** The column phase 3 drops. */
  original: { schema: string; table: string; column: string };
  /** The column that keeps the values: its table (a move's) and name, printed quoted where needed. */
  copy: { table: string; column: string };
  /** True for a rename (the copy is on the same table). */
  rename: boolean;
  /** Names of the column's indexes and constraints `plan` recorded (copied in phase 1, dropped with the column). */
  recordedRelations: readonly string[];
  /** Foreign keys of other tables `plan` recorded (a rename drops them before the column). */
  recordedForeignKeys: ReadonlyArray<{ schema: string; table: string; name: string }>;
  /** Generated columns `plan` recorded (a rename re-points them before the drop). */
  recordedGenerated: readonly string[];
  /**
   * A rename's recorded indexes and the copies phase 1 built (same schema as the table): phase 3 points the replica
   * identity at the copy before the drop (carry-replica-identity.hbs). Empty for a move, a partitioned table (each
   * partition has its own identity) and a column that was nullable at plan (no NOT NULL for the copy to take over).
   */
  identityIndexPairs?: ReadonlyArray<{ original: string; copy: string }>;
}

const CLASS = (name: string) => `'pg_catalog.${name}'::pg_catalog.regclass`;

/** Context of templates/shared/guard-column-dependents.hbs: the query (rows: problem, fix, blocks) and the message. */
export function columnDependentsGuard(input: ColumnDependentsGuardInput) {
  const { original, rename } = input;
  // Names in the message and hints quoted only where needed (`job_title`, `"Job Title"`), as displayColumn does: a
  // name holding `; ` or spaces must not read as part of the sentence or the list.
  const originalColumn = displayIdentifier(original.column);
  const copyLabel = rename
    ? displayIdentifier(input.copy.column)
    : `${displayIdentifier(input.copy.table)}.${displayIdentifier(input.copy.column)}`;
  const table = `${quoteLiteral(qualify(original.schema, original.table))}::pg_catalog.regclass`;
  const column = quoteLiteral(original.column);
  const names = (list: readonly string[]) =>
    list.length === 0 ? `ARRAY[]::pg_catalog.text[]` : `ARRAY[${list.map(quoteLiteral).join(', ')}]::pg_catalog.text[]`;
  const recordedKeys = input.recordedForeignKeys
    .map(
      (key) =>
        `(x.conrelid = pg_catalog.to_regclass(${quoteLiteral(qualify(key.schema, key.table))}) AND x.conname = ${quoteLiteral(key.name)})`,
    )
    .join(' OR ');
  // A rename drops the recorded foreign keys of other tables before the column (re-pointed in phase 1).
  const keysExempt =
    recordedKeys === '' ? '' : `\n        AND NOT (x.kind = 'foreign key' AND coalesce(${recordedKeys}, false))`;
  const fix = (text: string) => quoteLiteral(text);
  const fixes = {
    policy: fix(
      rename
        ? `rewrite each policy to name ${copyLabel} instead (ALTER POLICY … USING (…) WITH CHECK (…): both columns hold the same values until phase 3)`
        : `rewrite each policy so it does not name ${originalColumn} (ALTER POLICY …; the value lives in ${copyLabel})`,
    ),
    publication: fix(
      rename
        ? `change the publication so it lists ${copyLabel} instead (ALTER PUBLICATION … SET TABLE … (columns) WHERE (…))`
        : `change the publication so it does not name ${originalColumn} (ALTER PUBLICATION … SET TABLE …); publish ${copyLabel}'s table instead`,
    ),
    foreignKey: fix(
      rename
        ? `add each foreign key again referencing ${copyLabel} (ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT) and drop the one on ${originalColumn}`
        : `drop each foreign key, and add it again referencing ${copyLabel} (ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT)`,
    ),
    generated: fix(
      `drop the generated column and re-create it from ${copyLabel} (a stored one cannot be re-pointed without rewriting the table)`,
    ),
    function: fix(
      `re-create each function with a body that does not read ${originalColumn} (a SQL-standard body is bound to the column; a string body AS $$ … $$ is not)`,
    ),
    other: fix(`change or drop each so it does not depend on ${originalColumn}`),
    index: fix(
      `phase 3 would drop it with the column: build its counterpart on ${copyLabel} (CREATE [UNIQUE] INDEX CONCURRENTLY …) and drop it (DROP INDEX CONCURRENTLY …), or drop it if it is not needed`,
    ),
    constraint: fix(
      `phase 3 would drop it with the column: add it again on ${copyLabel} (ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT) and drop it, or drop it if it is not needed`,
    ),
    statistics: fix(
      `phase 3 would drop it with the column: create it again on ${copyLabel} (CREATE STATISTICS …) and drop it (DROP STATISTICS …)`,
    ),
    replicaIdentity: fix(
      `phase 3 would drop the index and leave the table without a replica identity (UPDATE and DELETE fail on a table that publishes them): choose another one for the duration of the change (ALTER TABLE … REPLICA IDENTITY DEFAULT, FULL, or USING INDEX of another unique index on NOT NULL columns), and after phase 3 USING INDEX the copy on ${copyLabel}`,
    ),
    sequence: fix(
      `phase 3 would drop the sequence with the column: ALTER SEQUENCE … OWNED BY ${copyLabel} or OWNED BY NONE`,
    ),
    identity: fix(
      `an identity column's sequence goes with the column and cannot be given to another one (phasectl does not carry identity columns; plan refuses them): make ${originalColumn} a plain column again (ALTER TABLE … ALTER COLUMN … DROP IDENTITY, once no write relies on its generated values), and make ${copyLabel} an identity after phase 3 (ADD GENERATED BY DEFAULT AS IDENTITY, then setval to continue the numbering)`,
    ),
  };
  // The replica identity index phase 3 carries (a rename): one of plan's recorded indexes, on the table itself, whose
  // copy phase 1 built is there and can be the identity (valid, unique, immediate, not partial). The copy's column
  // gets its NOT NULL just before (the contract's set-not-null). The same test as carry-replica-identity.hbs makes.
  const pairs = input.identityIndexPairs ?? [];
  const carriedIdentity =
    pairs.length === 0
      ? 'false'
      : `x.indrelid = ${table} AND (${pairs
          .map(
            (pair) =>
              `(x.relname::pg_catalog.text = ${quoteLiteral(pair.original)} AND EXISTS (
              SELECT 1 FROM pg_catalog.pg_index AS cx
              WHERE cx.indexrelid = pg_catalog.to_regclass(${quoteLiteral(qualify(original.schema, pair.copy))})
                AND cx.indrelid = ${table} AND cx.indisvalid AND cx.indisunique AND cx.indimmediate AND cx.indpred IS NULL))`,
          )
          .join(' OR ')})`;
  // One row per object. `blocks`: DROP COLUMN would fail on it; otherwise it would drop it silently.
  const query = `    WITH columns AS (
      SELECT a.attrelid, a.attnum
      FROM pg_catalog.pg_attribute AS a
      WHERE (a.attrelid = ${table}
             OR a.attrelid IN (SELECT tree.relid FROM pg_catalog.pg_partition_tree(${table}) AS tree))
        AND a.attname = ${column} AND a.attnum > 0 AND NOT a.attisdropped
    ), dependents AS (
      SELECT d.classid, d.objid, d.objsubid, pg_catalog.bool_or(d.deptype IN ('a', 'i')) AS goes_with_it,
        pg_catalog.bool_or(d.deptype = 'i') AS internal, pg_catalog.bool_and(d.refobjid = ${table}) AS on_table
      FROM pg_catalog.pg_depend AS d
      JOIN columns AS c ON d.refclassid = ${CLASS('pg_class')} AND d.refobjid = c.attrelid AND d.refobjsubid = c.attnum
      -- The column's own default goes with it.
      WHERE NOT (d.classid = ${CLASS('pg_attrdef')} AND EXISTS (
              SELECT 1 FROM pg_catalog.pg_attrdef AS own WHERE own.oid = d.objid AND own.adrelid = c.attrelid AND own.adnum = c.attnum))
      GROUP BY d.classid, d.objid, d.objsubid
    ), described AS (
      SELECT d.goes_with_it,
        CASE
          WHEN d.classid = ${CLASS('pg_policy')} THEN 'policy'
          WHEN d.classid = ${CLASS('pg_publication_rel')} THEN 'publication'
          WHEN d.classid = ${CLASS('pg_constraint')} AND k.contype = 'f' AND k.conrelid <> ALL (SELECT c.attrelid FROM columns AS c) THEN 'foreign key'
          WHEN d.classid = ${CLASS('pg_constraint')} THEN 'constraint'
          WHEN d.classid = ${CLASS('pg_attrdef')} OR (d.classid = ${CLASS('pg_class')} AND d.objsubid <> 0) THEN 'generated'
          WHEN d.classid = ${CLASS('pg_proc')} THEN 'function'
          WHEN d.classid = ${CLASS('pg_statistic_ext')} THEN 'statistics'
          WHEN r.relkind = 'S' AND d.internal THEN 'identity'
          WHEN r.relkind = 'S' THEN 'sequence'
          WHEN r.relkind IN ('i', 'I') AND ix.indisreplident THEN 'replica identity'
          WHEN r.relkind IN ('i', 'I') THEN 'index'
          ELSE 'other'
        END AS kind,
        -- Names quoted where needed (pg_describe_object prints a policy's, a constraint's and a publication's bare:
        -- "policy a; b on table …" would read as two items of the list).
        CASE
          WHEN r.relkind = 'S' AND d.internal THEN pg_catalog.format('identity column %I of %s (its sequence %s)', ${column}, ${table}, r.oid::pg_catalog.regclass)
          WHEN ix.indisreplident THEN pg_catalog.format('index %s, the replica identity of %s', r.oid::pg_catalog.regclass, ix.indrelid::pg_catalog.regclass)
          WHEN g.attname IS NOT NULL THEN pg_catalog.format('generated column %I of %s', g.attname, g.attrelid::pg_catalog.regclass)
          WHEN k.conrelid <> 0 THEN pg_catalog.format('constraint %I on table %s', k.conname, k.conrelid::pg_catalog.regclass)
          WHEN pol.oid IS NOT NULL THEN pg_catalog.format('policy %I on table %s', pol.polname, pol.polrelid::pg_catalog.regclass)
          WHEN pub.oid IS NOT NULL THEN pg_catalog.format('publication of table %s in publication %I', pr.prrelid::pg_catalog.regclass, pub.pubname)
          ELSE pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
        END AS problem,
        d.classid, k.conrelid, k.conname, k.contype, k.conparentid, k.coninhcount, r.relkind, r.relname, r.oid AS relid, ix.indrelid, d.on_table,
        g.attname AS generated_name
      FROM dependents AS d
      LEFT JOIN pg_catalog.pg_constraint AS k ON d.classid = ${CLASS('pg_constraint')} AND k.oid = d.objid
      LEFT JOIN pg_catalog.pg_class AS r ON d.classid = ${CLASS('pg_class')} AND d.objsubid = 0 AND r.oid = d.objid
      LEFT JOIN pg_catalog.pg_index AS ix ON ix.indexrelid = r.oid
      LEFT JOIN pg_catalog.pg_policy AS pol ON d.classid = ${CLASS('pg_policy')} AND pol.oid = d.objid
      LEFT JOIN pg_catalog.pg_publication_rel AS pr ON d.classid = ${CLASS('pg_publication_rel')} AND pr.oid = d.objid
      LEFT JOIN pg_catalog.pg_publication AS pub ON pub.oid = pr.prpubid
      LEFT JOIN pg_catalog.pg_attrdef AS ad ON d.classid = ${CLASS('pg_attrdef')} AND ad.oid = d.objid
      LEFT JOIN pg_catalog.pg_attribute AS g
        ON (ad.oid IS NOT NULL AND g.attrelid = ad.adrelid AND g.attnum = ad.adnum)
        OR (d.classid = ${CLASS('pg_class')} AND d.objsubid <> 0 AND g.attrelid = d.objid AND g.attnum = d.objsubid)
      -- Views and rules (pg_rewrite) and triggers have their own guards above.
      WHERE d.classid NOT IN (${CLASS('pg_rewrite')}, ${CLASS('pg_trigger')})
    )
    SELECT pg_catalog.format('%s (%s)', x.problem,
             CASE WHEN x.goes_with_it THEN 'DROP COLUMN would drop it' ELSE 'DROP COLUMN would fail on it' END) AS problem,
           CASE x.kind
             WHEN 'policy' THEN ${fixes.policy} WHEN 'publication' THEN ${fixes.publication}
             WHEN 'foreign key' THEN ${fixes.foreignKey} WHEN 'generated' THEN ${fixes.generated}
             WHEN 'function' THEN ${fixes.function} WHEN 'index' THEN ${fixes.index}
             WHEN 'constraint' THEN ${fixes.constraint} WHEN 'statistics' THEN ${fixes.statistics}
             WHEN 'sequence' THEN ${fixes.sequence} WHEN 'identity' THEN ${fixes.identity} WHEN 'replica identity' THEN ${fixes.replicaIdentity} ELSE ${fixes.other}
           END AS fix
    FROM described AS x
    WHERE CASE
      -- Fails the DROP COLUMN: whatever depends on the column without going with it, unless phase 3 handles it first.
      -- A generated column: DROP COLUMN fails on it (15+) or drops it, values and all (14 records it 'a'), unless recorded.
      WHEN x.kind = 'generated' THEN
        -- (By name: on a partitioned table each partition holds its own copy of the parent's expression.)
        NOT (x.generated_name::pg_catalog.text = ANY (${names(input.recordedGenerated)}))
      WHEN NOT x.goes_with_it THEN true${keysExempt}
      -- Dropped with it: what the user would miss, unless phase 1 copied it (recorded) or it is a partition's copy of the parent's.
      -- A sequence the column owns (serial): a rename's phase 3 gives it to the new column first (carry-owned-sequences.hbs),
      -- one owned by the table's column itself (not by a partition's: that one would go with the partition's column).
      WHEN x.kind = 'sequence' THEN ${rename ? 'NOT x.on_table' : 'true'}
      -- The replica identity index: unless phase 3 points the identity at its copy first, the table would keep REPLICA
      -- IDENTITY USING INDEX without the index, and every UPDATE and DELETE of a table in a publication that publishes
      -- them would fail.
      WHEN x.kind = 'replica identity' THEN NOT (${carriedIdentity})
      WHEN x.kind IN ('statistics', 'identity') THEN true
      WHEN x.kind = 'index' THEN
        NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits AS i WHERE i.inhrelid = x.relid)
        AND NOT (x.relname::pg_catalog.text = ANY (${names(input.recordedRelations)})
                 AND EXISTS (SELECT 1 FROM pg_catalog.pg_index AS ix WHERE ix.indexrelid = x.relid AND ix.indrelid = ${table}))
      WHEN x.kind = 'constraint' THEN
        x.contype <> 'n' AND x.conparentid = 0 AND NOT (x.conrelid <> ${table} AND x.coninhcount > 0)
        AND NOT (x.conrelid = ${table} AND x.conname::pg_catalog.text = ANY (${names(input.recordedRelations)}))
      ELSE false
    END`;
  return {
    columnDependents: {
      query,
      column: original.column,
      messageStart: `change ${input.changeId} cannot drop ${originalColumn}: it is used by `,
      messageEnd: '; nothing was changed',
      hintEnd: ', then rerun `phasectl migrate`',
    },
  };
}
