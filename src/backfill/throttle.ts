import type pg from 'pg';
import { InputError, RuntimeFailure } from '../errors.js';
import type { BackfillPlan } from '../operations/types.js';
import type { EventLog } from '../events.js';
import { sleep } from '../session/lock-retry.js';
import { describePgError, pgError } from '../session/pg-error.js';
import { parseStatement, SqlParseError } from '../sql/parser.js';
import { recordPause } from './range-state.js';

/** When a backfill holds back its next batch, as gh-ost does. */
export interface ThrottleOptions {
  /** Pause while any streaming replica's replay lag (pg_stat_replication.replay_lag) is above this many seconds. */
  maxReplicationLagSeconds?: number;
  /** Pause while this read-only query's first column is true (one SELECT, run under a statement_timeout). */
  throttleQuery?: string;
}

/** How often the conditions are read while batches run, and again while paused (ms). */
const CHECK_INTERVAL_MS = 500;
/** statement_timeout of the throttle query (ms). */
export const THROTTLE_QUERY_TIMEOUT_MS = 5_000;

export interface Throttle {
  /** Resolves when batches may go on (at once when nothing holds them back, or when `signal` aborts). */
  wait(signal?: AbortSignal): Promise<void>;
}

/**
 * The throttle query must be a single SELECT (checked with PostgreSQL's parser, before anything runs): it runs
 * in a READ ONLY transaction on phasectl's session, whose search_path is pg_catalog, pg_temp (qualify names).
 */
export function checkThrottleQuery(sql: string | undefined): void {
  if (sql === undefined) return;
  let tree: unknown;
  try {
    tree = parseStatement(sql);
  } catch (error) {
    throw new InputError(
      `--throttle-query is not one SQL statement: ${error instanceof SqlParseError ? error.message : String(error)}`,
      {
        hint: `give one SELECT whose first column is true while the backfill should wait, e.g. --throttle-query "SELECT pg_catalog.now()::time BETWEEN '09:00' AND '17:00'"`,
      },
    );
  }
  if (typeof tree !== 'object' || tree === null || !('SelectStmt' in tree)) {
    throw new InputError('--throttle-query must be a SELECT (it runs read-only)', {
      hint: 'give one SELECT whose first column is true while the backfill should wait',
    });
  }
}

/**
 * A throttle for one backfill on `session` (idle between the checks: the main session of a parallel run, or the
 * single worker between its batches), or undefined when no condition is set. Conditions are read at most every
 * 500 ms; a pause is logged once (`backfill-throttled`), recorded in `phasectl.backfill_pauses` for `status`, and
 * ends with `backfill-resumed`. Checks the conditions once before returning, so a bad query or missing rights
 * stop the command before its first batch (exit 2 / 3).
 */
export async function createThrottle(
  session: pg.ClientBase,
  plan: Pick<BackfillPlan, 'changeId' | 'direction'>,
  options: ThrottleOptions,
  log: EventLog,
): Promise<Throttle | undefined> {
  if (options.maxReplicationLagSeconds === undefined && options.throttleQuery === undefined) return undefined;
  await probeThrottle(session, options);
  let checkedAt = 0;
  let reason: string | undefined;
  let inFlight: Promise<string | undefined> | undefined;
  let pausedAt: number | undefined;

  const currentReason = async (): Promise<string | undefined> => {
    if (Date.now() - checkedAt < CHECK_INTERVAL_MS) return reason;
    inFlight ??= holdReason(session, options).finally(() => {
      checkedAt = Date.now();
      inFlight = undefined;
    });
    reason = await inFlight;
    return reason;
  };

  return {
    async wait(signal) {
      for (;;) {
        let why: string | undefined;
        try {
          why = await currentReason();
        } catch (error) {
          if (error instanceof InputError || error instanceof RuntimeFailure) throw error;
          throw new RuntimeFailure(
            `the throttle check of the backfill of ${plan.changeId} failed: ${describePgError(error)}`,
            {
              hint: `progress is saved; fix the cause, then rerun \`phasectl backfill ${plan.changeId}\` or \`phasectl migrate\``,
              cause: error,
            },
          );
        }
        if (why === undefined) {
          if (pausedAt !== undefined) {
            const pausedMs = Date.now() - pausedAt;
            pausedAt = undefined;
            await recordPause(session, plan, undefined);
            log({ type: 'backfill-resumed', changeId: plan.changeId, direction: plan.direction, pausedMs });
          }
          return;
        }
        if (pausedAt === undefined) {
          pausedAt = Date.now();
          log({ type: 'backfill-throttled', changeId: plan.changeId, direction: plan.direction, reason: why });
          await recordPause(session, plan, why);
        }
        if (signal?.aborted) return;
        await sleep(CHECK_INTERVAL_MS);
      }
    },
  };
}

/**
 * Reads the throttle's conditions once, so that a bad query (exit 2) or missing rights to see the replicas' lag
 * (exit 3) stop a command before it changes anything: `migrate` calls it before its first file.
 */
export async function probeThrottle(session: pg.ClientBase, options: ThrottleOptions): Promise<void> {
  if (options.maxReplicationLagSeconds === undefined && options.throttleQuery === undefined) return;
  checkThrottleQuery(options.throttleQuery);
  if (options.maxReplicationLagSeconds !== undefined) await requireReplicationStats(session);
  await holdReason(session, options).catch((error: unknown) => {
    const code = pgError(error)?.code ?? '';
    if (
      options.throttleQuery !== undefined &&
      (code.startsWith('42') || code.startsWith('22') || code === '57014' || error instanceof InputError)
    ) {
      // 57014: cancelled by its statement_timeout (or by hand).
      const timedOut = code === '57014' ? ` (it may run ${THROTTLE_QUERY_TIMEOUT_MS / 1000} s)` : '';
      throw new InputError(
        `--throttle-query fails: ${error instanceof InputError ? error.message : describePgError(error)}${timedOut}`,
        {
          hint: 'fix the query (it runs read-only with search_path pg_catalog, pg_temp: qualify table names) and run the command again; nothing was changed',
        },
      );
    }
    throw error;
  });
}

/** Why batches should wait now, or undefined. */
async function holdReason(session: pg.ClientBase, options: ThrottleOptions): Promise<string | undefined> {
  if (options.maxReplicationLagSeconds !== undefined) {
    const lag = await replicationLag(session);
    if (lag !== undefined && lag.seconds > options.maxReplicationLagSeconds) {
      return `replica ${lag.name} replays ${lag.seconds.toFixed(1)} s behind (limit ${options.maxReplicationLagSeconds} s)`;
    }
    const slot = await disconnectedReplicaSlot(session);
    if (slot !== undefined) {
      return (
        `physical replication slot ${slot} has no replica streaming from it (down or reconnecting): it keeps every ` +
        `batch's WAL until one does; drop the slot if its replica is gone (SELECT pg_catalog.pg_drop_replication_slot('${slot.replace(/'/g, "''")}'))`
      );
    }
  }
  if (options.throttleQuery !== undefined && (await throttleQueryHolds(session, options.throttleQuery))) {
    return 'the throttle query returned true';
  }
  return undefined;
}

/**
 * The largest replay lag of the physical streaming replicas (walsenders not attached to a database: logical
 * replication consumers are left out, a stuck CDC client must not stall the backfill forever). replay_lag is
 * NULL once a replica has caught up and nothing is written: no lag.
 */
async function replicationLag(session: pg.ClientBase): Promise<{ name: string; seconds: number } | undefined> {
  const { rows } = await session.query<{ name: string; seconds: number }>(
    `SELECT coalesce(r.application_name, '') || ' (' || coalesce(pg_catalog.host(r.client_addr), 'local') || ')' AS name,
            pg_catalog.date_part('epoch', r.replay_lag)::float8 AS seconds
       FROM pg_catalog.pg_stat_replication AS r JOIN pg_catalog.pg_stat_activity AS a ON a.pid OPERATOR(pg_catalog.=) r.pid
      WHERE a.datid IS NULL AND r.replay_lag IS NOT NULL
      ORDER BY r.replay_lag DESC LIMIT 1`,
  );
  return rows[0];
}

/**
 * A physical replication slot no walsender uses: its replica is down or reconnecting, so its lag is unknown and grows
 * with every batch (the slot keeps the WAL on the primary's disk until the replica replays it). Slots whose WAL is
 * already lost are left out (no replica can resume from them), and so are slots that reserve no WAL and logical slots
 * (as logical consumers are for the lag: a stuck CDC client must not stall the backfill forever).
 */
async function disconnectedReplicaSlot(session: pg.ClientBase): Promise<string | undefined> {
  const { rows } = await session.query<{ name: string }>(
    `SELECT s.slot_name::pg_catalog.text AS name FROM pg_catalog.pg_replication_slots AS s
      WHERE s.slot_type OPERATOR(pg_catalog.=) 'physical' AND NOT s.active
        AND s.restart_lsn IS NOT NULL AND s.wal_status OPERATOR(pg_catalog.<>) 'lost'
      ORDER BY 1 LIMIT 1`,
  );
  return rows[0]?.name;
}

/** pg_stat_replication shows the lag columns only to superusers and members of pg_read_all_stats (pg_monitor). */
async function requireReplicationStats(session: pg.ClientBase): Promise<void> {
  const { rows } = await session.query<{ ok: boolean }>(
    `SELECT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) current_user)
         OR pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE') AS ok`,
  );
  if (!rows[0]?.ok) {
    throw new RuntimeFailure(
      "--max-replication-lag needs to read the replicas' lag in pg_stat_replication, which this role may not see",
      {
        hint: 'GRANT pg_monitor TO <this role> (or pg_read_all_stats), or run without --max-replication-lag; nothing was changed',
      },
    );
  }
}

async function throttleQueryHolds(session: pg.ClientBase, sql: string): Promise<boolean> {
  await session.query(`BEGIN READ ONLY; SET LOCAL statement_timeout = '${THROTTLE_QUERY_TIMEOUT_MS}ms'`);
  try {
    // Extended protocol: exactly one statement, whatever the text holds.
    const result = await session.query({ text: sql, queryMode: 'extended' } as pg.QueryConfig);
    await session.query('COMMIT');
    const value = result.rows[0] === undefined ? false : Object.values(result.rows[0] as Record<string, unknown>)[0];
    if (typeof value !== 'boolean' && value !== null) {
      throw new InputError(`its first column must be a boolean, got ${JSON.stringify(value)}`);
    }
    return value === true;
  } catch (error) {
    await session.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
