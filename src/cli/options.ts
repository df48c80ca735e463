import type { Command } from 'commander';
import { BOUNDS } from '../option-bounds.js';
import { bounded, rangeNote } from './parse-number.js';

/**
 * The options every command spells the same way. Each helper adds one option to a commander command and
 * returns it, so they chain: `withProjectOption(program.command('migrate'))…`.
 */

/** `--project <dir>`: the project root holding phases.yaml and db/ (default: the current directory). */
export function withProjectOption(command: Command): Command {
  return command.option('--project <dir>', 'project root holding phases.yaml and db/ (default: current directory)');
}

/** `--quiet` and `--json`: how a long-running command prints its events. */
export function withEventOutputOptions(command: Command): Command {
  return command.option('--quiet', 'print errors only').option('--json', 'print one JSON event per line');
}

/** The flags `withRunOptions` adds, as commander parses them. */
export interface RunFlags {
  lockTimeout?: number;
  retryFor?: number;
  waitLock?: number;
  showBlockerQueries?: boolean;
}

/** `--lock-timeout`, `--retry-for`, `--show-blocker-queries`, `--wait-lock`: how migrate and rollback take locks. */
export function withRunOptions(command: Command): Command {
  return command
    .option(
      '--lock-timeout <ms>',
      "lock_timeout for DDL, set after each file's own (the files are not edited)" + rangeNote(BOUNDS.lockTimeoutMs),
      bounded(BOUNDS.lockTimeoutMs),
    )
    .option(
      '--retry-for <seconds>',
      'keep retrying lock timeouts this long (default 60)' + rangeNote(BOUNDS.retryForSeconds),
      bounded(BOUNDS.retryForSeconds),
    )
    .option(
      '--show-blocker-queries',
      'name the queries of sessions blocking a migration (constants masked); default: pid, user, application, state, age',
    )
    .option(
      '--wait-lock <seconds>',
      'wait this long for another phasectl migrate or rollback to finish (default 0)' +
        rangeNote(BOUNDS.waitLockSeconds),
      bounded(BOUNDS.waitLockSeconds),
    );
}

/** The library's names for the flags of `withRunOptions`. */
export function runOptionsFrom(flags: RunFlags) {
  return {
    lockTimeoutMs: flags.lockTimeout,
    retryForSeconds: flags.retryFor,
    waitLockSeconds: flags.waitLock,
    showBlockerQueries: flags.showBlockerQueries,
  };
}

/** The flags `withBackfillOptions` adds, as commander parses them. */
export interface BackfillFlags {
  batchSize?: number;
  targetBatchMs?: number;
  pauseMs?: number;
  jobs?: number;
  maxReplicationLag?: number;
  throttleQuery?: string;
}

/** How a backfill walks the table: batch sizing, pauses, parallel ranges and throttling (migrate and backfill). */
export function withBackfillOptions(command: Command): Command {
  return command
    .option(
      '--batch-size <rows>',
      'first backfill batch size (default 1000)' + rangeNote(BOUNDS.batchSize),
      bounded(BOUNDS.batchSize),
    )
    .option(
      '--target-batch-ms <ms>',
      'target duration of a backfill batch (default 50)' + rangeNote(BOUNDS.targetBatchMs),
      bounded(BOUNDS.targetBatchMs),
    )
    .option(
      '--pause-ms <ms>',
      'pause between backfill batches (default 0)' + rangeNote(BOUNDS.pauseMs),
      bounded(BOUNDS.pauseMs),
    )
    .option(
      '--jobs <n>',
      'key ranges backfilled (and verified) at once, each on its own connection (default 1; README, section Big tables: when to raise it)' +
        rangeNote(BOUNDS.jobs),
      bounded(BOUNDS.jobs),
    )
    .option(
      '--max-replication-lag <seconds>',
      'pause new backfill batches while a streaming replica replays further behind than this, or a physical replication slot has no replica streaming from it' +
        rangeNote(BOUNDS.maxReplicationLagSeconds),
      bounded(BOUNDS.maxReplicationLagSeconds),
    )
    .option(
      '--throttle-query <sql>',
      'pause new backfill batches while this SELECT returns true (read-only, 5 s statement_timeout; qualify table names)',
    );
}

/** The library's names for the flags of `withBackfillOptions`. */
export function backfillOptionsFrom(flags: BackfillFlags) {
  return {
    batchSize: flags.batchSize,
    targetBatchMs: flags.targetBatchMs,
    pauseMs: flags.pauseMs,
    jobs: flags.jobs,
    maxReplicationLagSeconds: flags.maxReplicationLag,
    throttleQuery: flags.throttleQuery,
  };
}
