import { readMigrationFiles } from '../runner/migration-files.js';
import { loadPhasesFile } from '../spec/load.js';
import { currentPhase, type Change } from '../spec/types.js';
import { changeColumns } from '../spec/change-columns.js';
import { projectPaths } from '../project.js';
import { syncFunctionName, syncTriggerNames, triggerName } from '../operations/naming.js';
import { requirePhasesFile } from './migrate.js';
import { readApplied } from '../runner/record.js';
import { generatedMigrationsDisagreement } from '../runner/shipped-files.js';
import { withSession } from '../session/with-session.js';
import { readGuardRefusal, type GuardRefusal } from '../runner/guard-refusals.js';
import type pg from 'pg';
import { readRangeSummaries, type PartitionProgress, type RangeSummary } from '../backfill/range-state.js';
import { AUDIT_CAVEAT, auditMismatches, readAuditFigures, type AuditFigures } from '../backfill/audit.js';
import { InputError } from '../errors.js';
import {
  readHalfRollbacks,
  readRollbacks,
  staleBy,
  type HalfRollback,
  type Rollback,
} from '../runner/rollback-history.js';

export interface BackfillProgress {
  direction: string;
  rowsDone: number;
  /** pg_class.reltuples of the table now. */
  rowsEstimated: number;
  lastKey: string[] | null;
  upperKey: string[] | null;
  finished: boolean;
  /** Rows per second over the backfill's life so far (rows_done / (updated_at − started_at)). */
  rowsPerSecond: number;
  /** A parallel backfill's key ranges (each walked by its own worker), while it runs; rowsDone counts their rows. */
  ranges?: { total: number; finished: number };
  /**
   * A partitioned table's backfill, while it runs: its leaf partitions (each walked on its own), how many are
   * finished, and each leaf's rows rewritten so far against its estimate.
   */
  partitions?: { total: number; finished: number; leaves: PartitionProgress[] };
  /** Set while the backfill waits for a throttle (--max-replication-lag, --throttle-query). */
  pause?: { reason: string; since: Date };
}

export interface ChangeStatus {
  id: string;
  /** True for a change retired by `phasectl archive` (listed under `archived:` in phases.yaml). */
  archived?: boolean;
  table: string;
  from: string;
  to: string;
  /** Phase in phases.yaml (0 = planned) and the release of that phase. */
  phaseInFile: number;
  releaseInFile?: string;
  /** Phase recorded in phasectl.changes, null when the database has none of it. */
  phaseInDatabase: number | null;
  releaseInDatabase: string | null;
  backfills: BackfillProgress[];
  /** `rolledBack`: a rollback ran after it (its count describes columns a down file has rewritten since). */
  verification: { differing: number; checkedAt: Date; rolledBack?: Rollback } | null;
  triggerPresent: boolean;
  /** The sync trigger is there but disabled (`ALTER TABLE … DISABLE TRIGGER`): the columns are not kept in sync. */
  triggerDisabled?: boolean;
  /** The sync trigger fires only outside replica mode (`ENABLE TRIGGER ALL` after a disable): replicated rows skip it. */
  triggerNotAlways?: boolean;
  functionPresent: boolean;
  oldColumnPresent: boolean;
  newColumnPresent: boolean;
  /** Up files of this change not yet applied. */
  pendingFiles: string[];
  /** INVALID indexes on the change's tables (qualified names): a CREATE INDEX CONCURRENTLY interrupted or still running. */
  invalidIndexes: string[];
  /** Where the database is not what the phase promises. */
  drift: string[];
  /** The last time a guard of a generated file refused this change in `migrate` (kept after the phase applies). */
  lastGuardRefusal: GuardRefusal | null;
  /**
   * The data audit (src/backfill/audit.ts): figures of the old and new column recorded by each phase's verification
   * walk, the mismatches among them, and what they can and cannot prove. Null when none were recorded.
   */
  audit: { figures: AuditFigures[]; mismatches: string[]; caveat: string } | null;
  /** A rollback of one of its phases that stopped half-way (migrate refuses until it is finished). */
  halfRollback?: HalfRollback;
  /** The command to run next, or undefined when nothing is due. */
  next?: string;
}

export interface StatusReport {
  changes: ChangeStatus[];
  /** Every pending up file (all changes, and files without a phasectl header). */
  pendingFiles: string[];
  /** Applied files that phasectl did not generate (change_id NULL). */
  unmanagedApplied: string[];
  /** Whether phasectl's state schema exists in the database. */
  stateSchema: boolean;
  /** Applied files whose content on disk differs from the checksum recorded when they were applied (edited by hand). */
  editedApplied: string[];
  /**
   * Changes the database has at phase 1 or 2 (their sync triggers still run) that phases.yaml does not list: deleted
   * from it, or their id renamed. Empty when one change was asked for.
   */
  notInPhasesFile: Array<{ id: string; phase: number; release: string | null }>;
  /** Set when phases.yaml no longer generates the migration files (edited after `advance`): what migrate refuses. */
  filesDisagree?: string;
}

export interface StatusOptions {
  databaseUrl: string;
  projectDir?: string;
  /** Only this change (an InputError when phases.yaml has no such change). */
  changeId?: string;
}

/**
 * Where every change of phases.yaml stands, in the repository and in the database. Read-only.
 *
 * @example
 * ```ts
 * import { status } from 'phasectl';
 *
 * const report = await status({ databaseUrl: process.env.DATABASE_URL!, projectDir: '.' });
 * for (const change of report.changes) console.log(change.id, change.phaseInFile, change.phaseInDatabase);
 * ```
 */
export async function status(options: StatusOptions): Promise<StatusReport> {
  const paths = projectPaths(options.projectDir);
  await requirePhasesFile(paths.phasesFile);
  const loaded = await loadPhasesFile(paths.phasesFile);
  const { spec } = loaded;
  const files = await readMigrationFiles(paths.migrationsDir);
  const filesDisagree = generatedMigrationsDisagreement(loaded, files);
  const wanted = (change: Change) => options.changeId === undefined || change.id === options.changeId;
  if (options.changeId !== undefined && ![...spec.changes, ...(spec.archived ?? [])].some(wanted))
    throw new InputError(`phases.yaml has no change ${options.changeId}`, {
      hint: `the changes are: ${[...spec.changes, ...(spec.archived ?? [])].map((change) => change.id).join(', ') || '(none)'}`,
    });
  return await withSession(options.databaseUrl, 'phasectl status', async ({ session }) => {
    const stateSchema =
      (await session.query<{ ok: boolean }>(`SELECT pg_catalog.to_regclass('phasectl.migrations') IS NOT NULL AS ok`))
        .rows[0]?.ok ?? false;
    const applied = await readApplied(session);
    const appliedNames = new Set(applied.map((row) => row.name));
    const pendingFiles = files.filter((file) => file.direction === 'up' && !appliedNames.has(file.name));
    const changes: ChangeStatus[] = [];
    for (const change of spec.changes.filter(wanted)) {
      changes.push(
        await changeStatus(
          session,
          change,
          stateSchema,
          pendingFiles.filter((file) => file.header?.changeId === change.id).map((file) => file.name),
        ),
      );
    }
    for (const change of (spec.archived ?? []).filter(wanted)) {
      const pending = pendingFiles.filter((file) => file.header?.changeId === change.id).map((file) => file.name);
      changes.push({ ...(await changeStatus(session, change, stateSchema, pending)), archived: true });
    }
    const known = new Set([...spec.changes, ...(spec.archived ?? [])].map((change) => change.id));
    const inFlight =
      stateSchema && options.changeId === undefined
        ? (
            await session.query<{ id: string; phase: number; release: string | null }>(
              'SELECT id, phase, release FROM phasectl.changes WHERE phase IN (1, 2) ORDER BY id COLLATE "C"',
            )
          ).rows
        : [];
    return {
      changes,
      notInPhasesFile: inFlight.filter((row) => !known.has(row.id)),
      pendingFiles: pendingFiles.map((file) => file.name),
      unmanagedApplied: applied.filter((row) => row.changeId === null).map((row) => row.name),
      stateSchema,
      editedApplied: applied
        .filter((row) => files.some((file) => file.name === row.name && file.checksum !== row.checksum))
        .map((row) => row.name),
      ...(filesDisagree === undefined ? {} : { filesDisagree }),
    };
  });
}

async function changeStatus(
  session: pg.ClientBase,
  change: Change,
  stateSchema: boolean,
  pendingFiles: string[],
): Promise<ChangeStatus> {
  const { source, target } = changeColumns(change);
  const { schema, table, column: from } = source;
  const to = change.kind === 'move' ? `${target.schema}.${target.table}.${target.column}` : target.column;
  const toColumn = target.column;
  const phaseInFile = currentPhase(change);
  const releaseInFile = phaseInFile === 0 ? undefined : change.releases[`phase${phaseInFile}` as 'phase1'];
  // The trigger, function and old column live on the source table; the new column on the target (the same table for a rename).
  const catalog = (
    await session
      .query<{
        trigger: boolean;
        disabled: boolean;
        origin: boolean;
        fn: boolean;
        old: boolean;
        new: boolean;
        estimate: string;
      }>(
        `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = c.oid AND tgname = $3 AND NOT tgisinternal) AS trigger,
              EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = c.oid AND tgname = $3 AND tgenabled IN ('D', 'R')) AS disabled,
              EXISTS (SELECT 1 FROM pg_catalog.pg_trigger WHERE tgrelid = c.oid AND tgname = $3 AND tgenabled = 'O') AS origin,
              EXISTS (SELECT 1 FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace
                       WHERE p.proname = $4 AND pn.nspname = 'phasectl') AS fn,
              EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = c.oid AND attname = $5 AND attnum > 0 AND NOT attisdropped) AS old,
              EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class tc ON tc.oid = a.attrelid
                       JOIN pg_catalog.pg_namespace tn ON tn.oid = tc.relnamespace
                       WHERE tn.nspname = $7 AND tc.relname = $8 AND a.attname = $6 AND a.attnum > 0 AND NOT a.attisdropped) AS new,
              CASE WHEN c.relkind = 'p' THEN (SELECT coalesce(sum(greatest(l.reltuples, 0)), 0) FROM pg_catalog.pg_partition_tree(c.oid) AS tree
                     JOIN pg_catalog.pg_class AS l ON l.oid = tree.relid WHERE tree.isleaf)
                   ELSE greatest(c.reltuples, 0) END::bigint AS estimate
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
        [
          schema,
          table,
          change.kind === 'rename'
            ? syncTriggerNames(change.id, change.rename.syncTrigger).triggerName
            : triggerName(change.id),
          syncFunctionName(change.id),
          from,
          toColumn,
          target.schema,
          target.table,
        ],
      )
      .catch(async () => ({ rows: [] }))
  ).rows[0];
  const invalidIndexes = (
    await session.query<{ name: string }>(
      `SELECT i.indexrelid::pg_catalog.regclass::text AS name
         FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE NOT i.indisvalid AND ((n.nspname = $1 AND c.relname = $2) OR (n.nspname = $3 AND c.relname = $4))
        ORDER BY 1`,
      [schema, table, target.schema, target.table],
    )
  ).rows.map((row) => row.name);
  let phaseInDatabase: number | null = null;
  let releaseInDatabase: string | null = null;
  let backfills: BackfillProgress[] = [];
  let verification: ChangeStatus['verification'] = null;
  let lastGuardRefusal: GuardRefusal | null = null;
  let audit: ChangeStatus['audit'] = null;
  let halfRollback: HalfRollback | undefined;
  if (stateSchema) {
    lastGuardRefusal = await readGuardRefusal(session, change.id);
    halfRollback = (await readHalfRollbacks(session)).find((rollback) => rollback.changeId === change.id);
    const rollbacks = await readRollbacks(session, change.id);
    const figures = (await readAuditFigures(session, change.id)).map((figure) => {
      const rolledBack = staleBy(rollbacks, figure.recordedAt, figure.phase);
      return rolledBack ? { ...figure, rolledBack } : figure;
    });
    if (figures.length > 0) audit = { figures, mismatches: auditMismatches(change.id, figures), caveat: AUDIT_CAVEAT };
    const recorded = (
      await session.query<{ phase: number; release: string | null }>(
        'SELECT phase, release FROM phasectl.changes WHERE id = $1',
        [change.id],
      )
    ).rows[0];
    phaseInDatabase = recorded?.phase ?? null;
    releaseInDatabase = recorded?.release ?? null;
    backfills = (
      await session.query<{
        direction: string;
        rows_done: string;
        last_key: string[] | null;
        upper_key: string[] | null;
        finished: boolean;
        seconds: number;
      }>(
        `SELECT direction, rows_done, last_key, upper_key, finished_at IS NOT NULL AS finished,
                pg_catalog.date_part('epoch', updated_at - started_at)::float8 AS seconds
           FROM phasectl.backfills WHERE change_id = $1 ORDER BY direction DESC`,
        [change.id],
      )
    ).rows.map((row) => ({
      direction: row.direction,
      rowsDone: Number(row.rows_done),
      rowsEstimated: Number(catalog?.estimate ?? 0),
      lastKey: row.last_key,
      upperKey: row.upper_key,
      finished: row.finished,
      rowsPerSecond: row.seconds > 0 ? Number(row.rows_done) / row.seconds : 0,
    }));
    backfills = withRangeSummaries(backfills, await readRangeSummaries(session, change.id));
    const verified = (
      await session.query<{ differing: string; checked_at: Date }>(
        'SELECT differing, checked_at FROM phasectl.verifications WHERE change_id = $1',
        [change.id],
      )
    ).rows[0];
    const rolledBack = verified ? staleBy(rollbacks, verified.checked_at) : undefined;
    verification = verified
      ? { differing: Number(verified.differing), checkedAt: verified.checked_at, ...(rolledBack ? { rolledBack } : {}) }
      : null;
  }
  const status: ChangeStatus = {
    id: change.id,
    table: `${schema}.${table}`,
    from,
    to,
    phaseInFile,
    releaseInFile,
    phaseInDatabase,
    releaseInDatabase,
    backfills,
    verification,
    triggerPresent: catalog?.trigger ?? false,
    ...(catalog?.disabled ? { triggerDisabled: true } : {}),
    ...(catalog?.origin ? { triggerNotAlways: true } : {}),
    functionPresent: catalog?.fn ?? false,
    oldColumnPresent: catalog?.old ?? false,
    newColumnPresent: catalog?.new ?? false,
    pendingFiles,
    invalidIndexes,
    drift: [],
    lastGuardRefusal,
    audit,
    ...(halfRollback ? { halfRollback } : {}),
  };
  status.drift = driftOf(status, catalog !== undefined);
  status.next = nextAction(status);
  return status;
}

/** What does not match the recorded phase. Pure. */
export function driftOf(s: ChangeStatus, tableExists: boolean): string[] {
  const drift: string[] = [];
  if (!tableExists) return [`table ${s.table} does not exist`];
  const phase = s.phaseInDatabase ?? 0;
  if (phase >= 1 && phase <= 2) {
    if (!s.triggerPresent)
      drift.push(
        `sync trigger missing on ${s.table} while phase ${phase} is applied: writes to one column are not copied to the other`,
      );
    if (s.triggerDisabled)
      drift.push(
        `sync trigger disabled on ${s.table} while phase ${phase} is applied: writes to one column are not copied to the other (migrate stops at the next phase until it is enabled)`,
      );
    if (s.triggerNotAlways)
      drift.push(
        `sync trigger on ${s.table} enabled without ALWAYS while phase ${phase} is applied: rows written under session_replication_role = replica (logical replication) skip it (migrate stops at the next phase until it is ENABLE ALWAYS again)`,
      );
    if (!s.functionPresent)
      drift.push(`sync function phasectl.${syncFunctionName(s.id)} missing while phase ${phase} is applied`);
    if (!s.newColumnPresent) drift.push(`column ${s.to} missing from ${s.table} while phase ${phase} is applied`);
    if (!s.oldColumnPresent) drift.push(`column ${s.from} missing from ${s.table} while phase ${phase} is applied`);
  }
  if (phase === 3) {
    if (s.oldColumnPresent) drift.push(`column ${s.from} still on ${s.table} although phase 3 is applied`);
    if (s.triggerPresent) drift.push(`sync trigger still on ${s.table} although phase 3 is applied`);
  }
  if (phase === 0 && !s.oldColumnPresent) drift.push(`column ${s.from} missing from ${s.table}`);
  if (s.halfRollback)
    drift.push(
      `a rollback of phase ${s.halfRollback.phase} stopped half-way (ran: ${s.halfRollback.downs.join(', ')}): migrate refuses until it is finished`,
    );
  if (s.pendingFiles.length > 0) drift.push(`${s.pendingFiles.length} migration file(s) not applied yet`);
  if (s.phaseInFile < phase)
    drift.push(`the database is at phase ${phase} but phases.yaml only at phase ${s.phaseInFile}`);
  return drift;
}

/** The next command for a change. Pure. */
export function nextAction(s: ChangeStatus): string | undefined {
  if (s.halfRollback)
    return `phasectl rollback --release ${s.halfRollback.release ?? '<release>'}  (finish the rollback of phase ${s.halfRollback.phase} of ${s.id})`;
  if (s.pendingFiles.length > 0) return 'phasectl migrate';
  const unfinished = s.backfills.find((b) => !b.finished);
  if (unfinished) return `phasectl backfill ${s.id}${unfinished.direction === 'down' ? ' --direction down' : ''}`;
  if (s.verification && s.verification.differing > 0 && !s.verification.rolledBack)
    return `phasectl backfill ${s.id} --repair, then phasectl verify ${s.id}`;
  if (s.phaseInFile < 3) return `phasectl advance --release <next release>  (phase ${s.phaseInFile + 1} of ${s.id})`;
  return undefined;
}

/** Adds a parallel backfill's ranges and a throttled backfill's pause to its progress. Pure. */
function withRangeSummaries(backfills: BackfillProgress[], summaries: RangeSummary[]): BackfillProgress[] {
  return backfills.map((backfill) => {
    const summary = summaries.find((candidate) => candidate.direction === backfill.direction);
    if (!summary) return backfill;
    const rowsDone = backfill.rowsDone + summary.rowsDone;
    return {
      ...backfill,
      rowsDone,
      rowsPerSecond:
        backfill.rowsDone > 0 ? (backfill.rowsPerSecond * rowsDone) / backfill.rowsDone : backfill.rowsPerSecond,
      ...(summary.ranges > 0 && !summary.partitions
        ? { ranges: { total: summary.ranges, finished: summary.rangesFinished } }
        : {}),
      ...(summary.partitions
        ? {
            partitions: {
              total: summary.partitions.length,
              finished: summary.partitions.filter((leaf) => leaf.finished).length,
              leaves: summary.partitions,
            },
          }
        : {}),
      ...(summary.pause ? { pause: summary.pause } : {}),
    };
  });
}
