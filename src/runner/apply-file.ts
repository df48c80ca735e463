import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import { BlockerWatch } from './blocker-watch.js';
import {
  dropInvalidIndex,
  isInvalidIndexRefusal,
  parseConcurrentIndex,
  type ConcurrentIndexTarget,
} from './concurrent-index.js';
import type { EventLog } from '../events.js';
import { IndexWaitReporter } from './index-wait.js';
import { backoffDelay, sleep, type RetryPolicy } from '../session/lock-retry.js';
import { DEFAULT_LOCK_TIMEOUT_MS, lockTimeoutScope, lockTimeoutSql } from '../session/lock-timeout.js';
import type { MigrationFile } from './migration-files.js';
import { lockTrustedState, recordLocked } from './record.js';
import {
  describePgError,
  excerpt,
  isConnectionLost,
  isLockTimeout,
  isTransientConflict,
  pgError,
} from '../session/pg-error.js';
import { splitStatements } from '../sql/split-statements.js';
import { statementRows } from './statement-rows.js';

export interface ApplyContext {
  session: pg.ClientBase;
  sessionPid: number;
  monitor: (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;
  log: EventLog;
  retry: RetryPolicy;
  /** `--lock-timeout`: set after each statement of the file that sets lock_timeout (the file's text is run as is). */
  lockTimeoutMs?: number;
  /** `--show-blocker-queries`: name the blocking sessions' queries too (constants masked). */
  showBlockerQueries?: boolean;
  random?: () => number;
  /** The role's own search_path, for files phasectl did not generate (see RunSession.userSearchPath). */
  userSearchPath?: () => Promise<string>;
}

/** Runs after the body succeeded; for transactional files inside the same transaction. */
export type Recorder = (session: pg.ClientBase, durationMs: number) => Promise<void>;

/**
 * Applies one SQL file: transactional files as `BEGIN; <file>; <record>; COMMIT` (the record commits
 * with the file, so a file is applied exactly once); `transaction=false` files statement by statement
 * on the session, then the record. Lock timeouts and deadlocks are retried with backoff (the app's queries run
 * in between); other errors become a RuntimeFailure naming the file and the statement.
 */
export async function applyFile(ctx: ApplyContext, file: MigrationFile, record: Recorder): Promise<number> {
  const body = file.content;
  const defaultTimeout = ctx.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  const started = Date.now();
  const transactional = file.header ? file.header.transaction : true;
  if (transactional) {
    await withLockRetry(ctx, file, body, async () => {
      // Read before BEGIN: a file phasectl did not generate runs with the search_path it was written for.
      const ownPath = !file.header && ctx.userSearchPath ? await ctx.userSearchPath() : undefined;
      await ctx.session.query('BEGIN');
      try {
        await ctx.session.query(`SET LOCAL lock_timeout = '${defaultTimeout}ms'`);
        // Before the body: generated files write phasectl.changes, and the record follows in this transaction.
        await lockTrustedState(ctx.session);
        if (ownPath !== undefined)
          await ctx.session.query(`SELECT pg_catalog.set_config('search_path', $1, true)`, [ownPath]);
        // Statement by statement inside the transaction, so an error names the exact statement.
        for (const statement of splitStatements(body)) await runStatement(ctx, statement);
        await record(ctx.session, Date.now() - started);
        await ctx.session.query('COMMIT');
      } catch (error) {
        await ctx.session.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  } else {
    try {
      await ctx.session.query(`SET lock_timeout = '${defaultTimeout}ms'`);
      const statements = splitStatements(body);
      for (const [at, statement] of statements.entries()) {
        await withLockRetry(ctx, file, statement, async () => {
          const index = parseConcurrentIndex(statement);
          if (index) {
            await waitingForOlderTransactions(ctx, file, index, async () => {
              await rebuildInvalid(ctx, file, index);
              await runStatement(ctx, statement);
            });
            return;
          }
          try {
            // A query that returns the statements to run next (one per partition): they follow it in this file.
            statements.splice(at + 1, 0, ...statementRows(file, statement, await runStatement(ctx, statement)));
          } catch (error) {
            // The create-index guard refused an INVALID index it checked is this step's own: the next
            // statement builds it, so drop the leftover and check again.
            const next = statements[at + 1] === undefined ? undefined : parseConcurrentIndex(statements[at + 1]!);
            if (!next || !isInvalidIndexRefusal(error)) throw error;
            if (!(await waitingForOlderTransactions(ctx, file, next, () => rebuildInvalid(ctx, file, next))))
              throw error;
            await runStatement(ctx, statement);
          }
        });
      }
      await recordLocked(ctx.session, () => record(ctx.session, Date.now() - started));
    } finally {
      // RESET search_path returns to the start-up value: pg_catalog, pg_temp (src/db/connect.ts).
      await ctx.session.query('RESET lock_timeout; RESET statement_timeout; RESET search_path').catch(() => undefined);
    }
  }
  return Date.now() - started;
}

async function rebuildInvalid(ctx: ApplyContext, file: MigrationFile, index: ConcurrentIndexTarget): Promise<boolean> {
  const dropped = await dropInvalidIndex(ctx.session, index);
  if (dropped) ctx.log({ type: 'index-rebuild', file: file.name, index: dropped });
  return dropped !== undefined;
}

/**
 * `CREATE/DROP INDEX CONCURRENTLY` take SHARE UPDATE EXCLUSIVE (the application's reads and writes go on)
 * and then wait for every older transaction: a short lock_timeout would only make them fail and start over
 * behind any long transaction (a pg_dump). So no lock_timeout for them (statement_timeout stays), and a
 * progress line names the transactions waited for.
 */
async function waitingForOlderTransactions<T>(
  ctx: ApplyContext,
  file: MigrationFile,
  index: ConcurrentIndexTarget,
  work: () => Promise<T>,
): Promise<T> {
  const before = (
    await ctx.session.query<{ setting: string }>(`SELECT pg_catalog.current_setting('lock_timeout') AS setting`)
  ).rows[0]!.setting;
  await ctx.session.query('SET lock_timeout = 0');
  const reporter = new IndexWaitReporter(
    ctx.sessionPid,
    ctx.monitor,
    (seconds, blockers) => ctx.log({ type: 'index-wait', file: file.name, index: index.index, seconds, blockers }),
    ctx.showBlockerQueries,
  );
  reporter.start();
  try {
    return await work();
  } finally {
    reporter.stop();
    await ctx.session.query(`SELECT pg_catalog.set_config('lock_timeout', $1, false)`, [before]).catch(() => undefined);
  }
}

/** Runs one statement; a failure remembers which statement it was. */
async function runStatement(ctx: ApplyContext, statement: string): Promise<pg.QueryResult> {
  try {
    const result = await ctx.session.query(statement);
    // --lock-timeout: the file set its own value; the override follows it, in the same scope.
    const scope = ctx.lockTimeoutMs === undefined ? undefined : lockTimeoutScope(statement);
    if (scope !== undefined) await ctx.session.query(lockTimeoutSql(scope, ctx.lockTimeoutMs!));
    return result;
  } catch (error) {
    if (error instanceof Error) (error as Error & { statement?: string }).statement = statement;
    throw error;
  }
}

/**
 * Runs `attempt` until it stops failing with lock_timeout or the retry budget is spent. A deadlock (or a
 * serialization failure) is retried the same way: PostgreSQL rolled back the attempt (the file's transaction, or the
 * one statement), and it comes from the application's transactions holding one table this file locks while waiting
 * for another it already locked (a move's expand locks the source and the target table; deadlock_timeout, 1 s by
 * default, ends the wait before lock_timeout does): not a cause to fix, only a moment to let pass.
 */
async function withLockRetry(
  ctx: ApplyContext,
  file: MigrationFile,
  sql: string,
  attempt: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + ctx.retry.retryForSeconds * 1000;
  // Poll several times within one lock_timeout, or the wait ends before we look.
  const watch = new BlockerWatch(
    ctx.sessionPid,
    ctx.monitor,
    Math.max(20, Math.min(250, (ctx.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS) / 5)),
    ctx.showBlockerQueries,
  );
  let tries = 0;
  try {
    for (;;) {
      tries += 1;
      watch.start();
      try {
        await attempt();
        return;
      } catch (error) {
        if (!isLockTimeout(error) && !isTransientConflict(error)) throw fileFailure(file, sql, error);
        const delayMs = backoffDelay(tries, ctx.retry, ctx.random);
        if (Date.now() + delayMs > deadline) throw lockGiveUp(file, tries, ctx, watch.lastSeen, error);
        watch.stop();
        ctx.log({
          type: 'retry',
          file: file.name,
          attempt: tries,
          delayMs,
          reason: pgError(error)?.message ?? 'lock timeout',
          blockers: watch.lastSeen,
        });
        await sleep(delayMs);
      }
    }
  } finally {
    watch.stop();
  }
}

function lockGiveUp(
  file: MigrationFile,
  tries: number,
  ctx: ApplyContext,
  blockers: string | undefined,
  cause: unknown,
): RuntimeFailure {
  const deadlock = isTransientConflict(cause);
  return new RuntimeFailure(
    `migration ${file.name} could not get its locks: gave up after ${tries} attempts in ${ctx.retry.retryForSeconds}s` +
      (deadlock ? ` (the last one: ${pgError(cause)?.message ?? 'deadlock detected'})` : '') +
      (blockers ? `\n  blocked by: ${blockers}` : ''),
    {
      hint: deadlock
        ? 'transactions of the application that write the tables of this file in the other order kept deadlocking with it ' +
          '(nothing of the file is applied): rerun `phasectl migrate` at a quieter moment, or wait longer with --retry-for <seconds>'
        : 'a long-running transaction holds a lock on the table: let it finish or end it ' +
          '(SELECT pg_terminate_backend(<pid>)), then rerun `phasectl migrate`; or wait longer with --retry-for <seconds>',
      cause,
    },
  );
}

/** The error for a file that failed: file, statement excerpt, PostgreSQL's words, and the fix. */
export function fileFailure(file: MigrationFile, sql: string, error: unknown): RuntimeFailure {
  if (error instanceof RuntimeFailure) return error;
  const transactional = file.header ? file.header.transaction : true;
  const statement = (error as { statement?: string } | undefined)?.statement ?? sql;
  const lost = isConnectionLost(error);
  // A down file runs in a rollback: the same rollback finishes it (migrate refuses a rollback stopped half-way).
  const again =
    file.header?.direction === 'down' ? `\`phasectl rollback --release ${file.header.release}\`` : '`phasectl migrate`';
  const hint = lost
    ? `the connection to PostgreSQL was lost; check the server, then rerun ${again} (applied files are recorded, the interrupted one runs again)`
    : transactional
      ? `the file was rolled back, nothing of it is applied: fix the cause above (data or schema), then rerun ${again}`
      : `the statements before this one stay applied and are idempotent: fix the cause above, then rerun ${again} to continue`;
  return new RuntimeFailure(`migration ${file.name} failed at: ${excerpt(statement)}\n  ${describePgError(error)}`, {
    hint,
    cause: error,
  });
}
