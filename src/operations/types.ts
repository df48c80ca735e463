import type { Change, PhaseNumber, TableName } from '../spec/types.js';
import type { GenerationSettings } from './settings.js';

export type { GenerationSettings } from './settings.js';

/**
 * What the runner must do with a step besides (or instead of) executing its SQL:
 * - `backfill`: run the batched backfill engine with `backfill` (the SQL body is the
 *   equivalent for other runners: a DO block that commits per batch);
 * - `verify`: count differing rows in batches and record the result (body: same, as a DO block).
 */
export type StepAction = 'sql' | 'backfill' | 'verify';

/** One migration file: the unit the runner applies and records. */
export interface Step {
  changeId: string;
  phase: PhaseNumber;
  direction: 'up' | 'down';
  /** 1-based position inside (change, phase, direction); rollback runs downs in this order too. */
  order: number;
  /** kebab-case, e.g. `expand`, `backfill`, `indexes`, `constraints`, `validate`, `switch`, `contract`. */
  name: string;
  /** False for steps that cannot run in a transaction (CONCURRENTLY, backfill batches). */
  transaction: boolean;
  action: StepAction;
  /** Present when action is `backfill` or `verify`. */
  backfill?: BackfillPlan;
  /** SQL text of the body (no header): readable, idempotent, timeouts set at the top. */
  sql: string;
  /** One line for people: the second header line of the migration file. */
  summary?: string;
}

/**
 * Everything the backfill engine (and verify) needs, as data. All SQL is already quoted.
 * Ranges are closed: parameters $1..$k are the first key of the batch, $k+1..$2k the last,
 * passed as text (the SQL casts them to the key types).
 */
export interface BackfillPlan {
  changeId: string;
  /** `up`: fill the new column from the old; `down`: fill the old column from the new (rollback of phase 3). */
  direction: 'up' | 'down';
  /** The table whose key is walked. */
  table: TableName;
  keyColumns: string[];
  keyTypes: string[];
  /** UPDATE of the rows in [$lo, $hi] that differ; run inside a transaction marked with `suppressSetting`. */
  updateSql: string;
  /** SELECT count(*) AS differing of the rows in [$lo, $hi] that differ. */
  countDifferentSql: string;
  /** Transaction-local setting the batch sets to 'on' so the sync trigger does not echo the write back. */
  suppressSetting: string;
  /**
   * `up` plans only: SELECT of the audit figures of the rows in [$lo, $hi] (batch-walk.ts auditSql), which verify
   * sums over its walk. Absent from files written by an older phasectl: then no figures are recorded.
   */
  auditSql?: string;
  /**
   * Phase 1's backfill of a same-type rename only: the engine may verify the copy as it makes it
   * (src/backfill/copy-check.ts). Absent from files written by an older phasectl: then a walk verifies afterwards.
   */
  verifyAsCopied?: boolean;
}

/** The column whose value wins when both differ: the old one in phase 1, the new one from phase 2 on. */
export type Authority = 'old' | 'new';

/** The steps of one phase of one change. */
export interface PhaseSteps {
  up: Step[];
  down: Step[];
}

/** One kind of change (rename, move): facts in, the steps of each phase out. Pure. */
export interface Operation<C extends Change = Change> {
  kind: C['kind'];
  steps(change: C, phase: PhaseNumber, settings?: GenerationSettings): PhaseSteps;
  /**
   * The plan of the change's backfill of that direction (`up`: phase 1, also what verify counts with; `down`: the
   * rollback of phase 3), as its migration file carries it. Renders no template.
   */
  backfillPlan(change: C, direction: 'up' | 'down'): BackfillPlan;
  /**
   * The plan of `backfill --repair` (up direction, its progress row): rows where the columns differ are settled by
   * `authority`, the column the sync function in place treats as the truth (old in phase 1, new from phase 2 on).
   */
  repairPlan(change: C, authority: Authority): BackfillPlan;
  /** The objects phase 1 creates under derived names, for the plan-time check that the names are free. */
  derivedObjects(change: C): DerivedObject[];
  /** Functions and triggers, also written as reviewable files (`db/functions`, `db/triggers`). */
  definitions?(change: C, settings?: GenerationSettings): Definition[];
}

/** A function or trigger definition written to `db/<folder>/<name>.sql` (the text the migrations embed). */
export interface Definition {
  folder: 'functions' | 'triggers';
  /** File name without `.sql`, e.g. `<change-id>_v01`. */
  name: string;
  /** One line for people, written as a comment above the SQL. */
  summary: string;
  sql: string;
}

/**
 * An object phase 1 creates under a name phasectl derives: an index (relation namespace of `schema`), a constraint
 * or trigger (per table), a function (schema `phasectl`, `table` empty). `unique`: a UNIQUE constraint, whose
 * index takes the constraint's name, so that name must be free among the schema's relations too.
 */
export interface DerivedObject {
  kind: 'index' | 'constraint' | 'trigger' | 'function';
  schema: string;
  table: string;
  name: string;
  /** What it is, for messages: `the copy of an index of email`. */
  about: string;
  unique?: boolean;
}
