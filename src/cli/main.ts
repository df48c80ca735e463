import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode } from '../errors.js';
import { takeExitCode } from './output.js';
import { register as registerInit } from './init.js';
import { register as registerPlan } from './plan.js';
import { register as registerAdvance } from './advance.js';
import { register as registerGenerate } from './generate.js';
import { register as registerMigrate } from './migrate.js';
import { register as registerRollback } from './rollback.js';
import { register as registerBackfill } from './backfill.js';
import { register as registerVerify } from './verify.js';
import { register as registerStatus } from './status.js';
import { register as registerCheck } from './check.js';
import { register as registerDemo } from './demo.js';
import { register as registerArchive } from './archive.js';
import { register as registerUnplan } from './unplan.js';

/** Builds the commander program: one file per command in src/cli, each exporting `register`. */
export function buildProgram(): Command {
  const program = new Command('phasectl')
    .description('Rename or move PostgreSQL columns with zero downtime, in three phases that ship in three releases.')
    .version(packageVersion(), '-V, --version', 'print the version of phasectl')
    .option('--debug', 'print stack traces of unexpected errors')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Example (one rename, three releases):
  $ phasectl plan rename users.job_title favourite_color --database-url postgres://app@localhost/app
  $ phasectl advance --release 1.4.0 && phasectl migrate      # release 1.4.0: expand + backfill
  $ phasectl advance --release 1.5.0 && phasectl migrate      # release 1.5.0: switch
  $ phasectl advance --release 1.6.0 && phasectl migrate      # release 1.6.0: contract
  $ phasectl check --base origin/main                         # in CI

Exit codes: 0 ok, 1 a check found problems, 2 bad input (nothing changed), 3 database or runtime failure,
130 stopped by Ctrl-C (143 by SIGTERM; a second Ctrl-C aborts at once).`,
    )
    .exitOverride();
  for (const register of [
    registerInit,
    registerPlan,
    registerUnplan,
    registerAdvance,
    registerGenerate,
    registerMigrate,
    registerRollback,
    registerBackfill,
    registerVerify,
    registerStatus,
    registerCheck,
    registerDemo,
    registerArchive,
  ]) {
    register(program);
  }
  return program;
}

/**
 * `phasectl migrate --dry-run | head -3`: once the reader has gone, output ends quietly (EPIPE) and the command goes
 * on — a migration or backfill is never interrupted because nobody reads its log any more.
 */
function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      throw error;
    });
  }
}

/** phasectl's own version, from its package.json (src/cli and dist/cli both sit two levels below it). */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** Runs the CLI and returns the exit code (0 ok, 1 problems found, 2 bad input, 3 failure). */
export async function run(argv: string[]): Promise<number> {
  ignoreClosedOutput();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are not errors; everything else commander rejects is usage.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.badInput;
    }
    throw error;
  }
  return takeExitCode();
}
