import type { Command } from 'commander';
import { status } from '../commands/status.js';
import { formatStatus } from './status-format.js';
import { action, processOutput, requireDatabaseUrl, withDatabaseOption } from './output.js';
import { withProjectOption } from './options.js';

/** `phasectl status`: where every change stands, in phases.yaml and in the database. */
export function register(program: Command): void {
  withProjectOption(withDatabaseOption(program.command('status')))
    .description('show each change (archived ones too): phase in phases.yaml and in the database, backfill progress, drift, next action, last guard refusal')
    .addHelpText('after', '\nExamples:\n  $ phasectl status\n  $ phasectl status --json                          # machine-readable, for dashboards and scripts')
    .option('--json', 'print the report as JSON only')
    .action(
      action(async (flags: { databaseUrl?: string; project?: string; json?: boolean }) => {
        const report = await status({ databaseUrl: requireDatabaseUrl(flags.databaseUrl), projectDir: flags.project });
        processOutput.out(flags.json ? JSON.stringify(report, null, 2) : formatStatus(report));
      }),
    );
}
