/**
 * The shapes of phases.yaml after validation. Pure data: generation needs nothing else,
 * so `generate` works offline and is deterministic.
 */

/** A release name as written in the ledger, e.g. `1.4.0`. Validated by the schema: [A-Za-z0-9][A-Za-z0-9._-]*. */
export type ReleaseName = string;

export type PhaseNumber = 1 | 2 | 3;

/** A table, always schema-qualified once loaded (plan fills in `public` when the user omits it). */
export interface TableName {
  schema: string;
  table: string;
}

/** An index that involves the old column, as the catalog reported it. */
export interface IndexFact {
  name: string;
  /** `pg_get_indexdef(oid)`, e.g. `CREATE UNIQUE INDEX users_email_idx ON public.users USING btree (email)`. */
  definition: string;
  unique: boolean;
  /** True when the index backs a PRIMARY KEY / UNIQUE constraint (then it is handled as that constraint). */
  constraint?: string;
}

/** A table constraint that involves the old column. */
export interface ConstraintFact {
  name: string;
  kind: 'check' | 'unique' | 'foreign_key';
  /** `pg_get_constraintdef(oid)`, e.g. `CHECK ((length(job_title) < 200))`. */
  definition: string;
}

/** Facts about the old column, read by `plan` from the database (or given by flags offline). */
export interface ColumnFacts {
  /** `format_type(atttypid, atttypmod)`, e.g. `character varying(100)`. */
  type: string;
  /** Quoted, qualified collation when not the type's default, e.g. `"pg_catalog"."C"`. */
  collation?: string;
  nullable: boolean;
  /** `pg_get_expr(adbin, adrelid)` of the column default. */
  default?: string;
  indexes: IndexFact[];
  constraints: ConstraintFact[];
}

/** A view that reads the column, as `plan` found it (read with `search_path = pg_catalog, pg_temp`: every name qualified). */
export interface ViewFact {
  schema: string;
  name: string;
  /** `pg_get_viewdef(oid)`. */
  definition: string;
  /** `reloptions`, e.g. `security_barrier=true`, `check_option=cascaded`. */
  options?: string[];
  /** md5 of the definition, a line break and the options joined by `,`: phase 3 refuses when the view in the database differs. */
  fingerprint: string;
}

/** A virtual generated column of the same table whose expression reads the column. */
export interface GeneratedColumnFact {
  name: string;
  /** `pg_get_expr(adbin, adrelid)`. */
  expression: string;
}

/** The key the backfill walks: the primary key, or a unique NOT NULL key. */
export interface KeyFacts {
  columns: string[];
  /** `format_type` of each key column, same order. */
  types: string[];
}

/** Release of each phase, written by `advance` only. */
export interface PhaseReleases {
  phase1?: ReleaseName;
  phase2?: ReleaseName;
  phase3?: ReleaseName;
}

export interface RenameChange {
  kind: 'rename';
  id: string;
  rename: {
    schema: string;
    table: string;
    from: string;
    to: string;
    /** Target type when the rename also changes the type; absent = same type as `column.type`. */
    type?: string;
    /** SQL expression of the old column giving the new value (old column referenced by its quoted name). */
    up?: string;
    /** SQL expression of the new column giving the old value. */
    down?: string;
    /** `plan --lossy`: accepted that down(up(x)) does not give every existing value back. */
    lossy?: true;
    /**
     * Name of the sync trigger when `plan` found a user BEFORE trigger sorting after the default one
     * (src/operations/naming.ts, syncTriggerNameAfter); absent: the default `zz_phasectl_sync_<id>`.
     */
    syncTrigger?: string;
    /** Written by `plan` when the table is declaratively partitioned: indexes are built per partition and attached. */
    partitioned?: true;
  };
  column: ColumnFacts;
  key: KeyFacts;
  /** Objects outside the table that use the column (absent: none, or planned before phasectl read them). */
  dependents?: DependentFacts;
  releases: PhaseReleases;
}

/** A column of a table, each part unquoted (names with dots or quotes stay unambiguous). */
export interface ColumnRef {
  schema: string;
  table: string;
  column: string;
}

/** One pair of the join between a moved column's source and target tables: `source.from = target.to`. */
export interface JoinPair {
  from: string;
  to: string;
}

/** Facts about the target table of a move, read by `plan`. */
export interface MoveTargetFacts {
  /** The target column existed before phase 1 (all NULL or equal): phase 1 down keeps it, only empties nothing. */
  existingColumn: boolean;
  /** The unique index (or constraint) over the target's join columns that makes the join 1:1. */
  uniqueIndex?: string;
}

/**
 * Moves a column to another table joined 1:1 (e.g. `users.address` → `profiles.address` on
 * `profiles.user_id = users.id`). `column` are the facts of the source column, `key` the source's key.
 */
export interface MoveChange {
  kind: 'move';
  id: string;
  move: {
    from: ColumnRef;
    to: ColumnRef;
    /** Join pairs: `from` a source column (the source's key or a unique NOT NULL key), `to` the target's. */
    on: JoinPair[];
  };
  column: ColumnFacts;
  key: KeyFacts;
  target: MoveTargetFacts;
  /** Functions that name the source column (absent: planned before phasectl read them); a move records no other kind. */
  dependents?: DependentFacts;
  releases: PhaseReleases;
}

export type Change = RenameChange | MoveChange;

export interface CheckSettings {
  /** Globs of source files searched for references to a column before its drop (rule 6). */
  sourceGlobs: string[];
  /** Globs excluded from that search. */
  ignoreGlobs: string[];
}

/** The `migrations:` section: how and where files are generated. */
export interface MigrationSettings {
  format: 'sql' | 'kysely' | 'db-migrate';
  /** A folder of templates overriding phasectl's own, file by file; relative to phases.yaml. */
  templates?: string;
  /** lock_timeout written into every generated file (a PostgreSQL duration, e.g. `2s`). */
  lockTimeout?: string;
  /** statement_timeout of every generated file's ordinary statements (scans keep their own cap). */
  statementTimeout?: string;
}

export interface PhasesFile {
  version: 1;
  /** Every release that holds a phase, in the order `advance` recorded them. Orders the migration files. */
  releases: ReleaseName[];
  migrations: MigrationSettings;
  check: CheckSettings;
  changes: Change[];
  /**
   * Changes retired by `phasectl archive` after their phase 3 shipped: out of the live list (advance, plan and
   * the column rules ignore them) but their files are still generated and checked. Optional for callers that
   * build a PhasesFile by hand; the loader always fills it.
   */
  archived?: Change[];
}

/** Every change whose files phasectl generates: the live ones, then the archived ones. */
export function allChanges(spec: Pick<PhasesFile, 'changes' | 'archived'>): Change[] {
  return spec.archived?.length ? [...spec.changes, ...spec.archived] : spec.changes;
}

/** The phase a change has reached in phases.yaml (0 = planned, nothing released yet). */
export function currentPhase(change: Change): 0 | PhaseNumber {
  if (change.releases.phase3) return 3;
  if (change.releases.phase2) return 2;
  if (change.releases.phase1) return 1;
  return 0;
}

/** A foreign key on another table that references the column (moved onto the new column by the phases). */
export interface ReferencingForeignKey {
  schema: string;
  table: string;
  name: string;
  /** pg_get_constraintdef, referenced table qualified: `FOREIGN KEY (user_email) REFERENCES public.users(email) ON UPDATE CASCADE`. */
  definition: string;
}

/** A function or procedure whose body (text) mentions the column, as plan's parser judged it. */
export interface DependentFunction {
  /** `oid::regprocedure`, e.g. `public.order_total(integer)`. */
  name: string;
  /** md5 of `prosrc` at plan. */
  fingerprint: string;
  /** The parser found the column named (work before phase 3); false: a text match only (comment, other table). */
  namesColumn: boolean;
  /** Line of the body with the first mention. */
  line?: number;
  /**
   * Line of the body with the first statement that maps the table's columns by position (a positional INSERT, the
   * whole row read into variables: src/dependents/column-order.ts); phase 3 refuses while the body is unchanged.
   */
  byPosition?: number;
  /**
   * Line of the body with the first statement that writes the whole row of the table that gains a column at phase 1
   * (a rename's table, a move's target) into another table by position (`INSERT INTO audit VALUES (OLD.*)`): it
   * breaks as soon as phase 1 adds the column, so phase 1 refuses while the body is unchanged.
   */
  wholeRow?: number;
}

/** A user trigger on the table naming the column (UPDATE OF, WHEN, arguments): re-created on the new column in phase 3. */
export interface DependentTrigger {
  name: string;
  /** pg_get_triggerdef, read with search_path = pg_catalog, pg_temp. */
  definition: string;
}

/**
 * What else uses the column (phases.yaml `dependents:`), read by `plan`. Older files kept
 * `views` and `generated` under `column:`; they are read from there too and written here.
 */
export interface DependentFacts {
  /** Views that read the column directly, re-pointed at the new column in phase 3 (src/dependents/views.ts). */
  views?: ViewFact[];
  /** Virtual generated columns computed from the column (PostgreSQL 18), re-pointed in phase 3. */
  generated?: GeneratedColumnFact[];
  foreignKeys: ReferencingForeignKey[];
  /** Absent: planned before phasectl read functions (phase 3 then has no function guard, as it was generated). */
  functions?: DependentFunction[];
  triggers: DependentTrigger[];
}
