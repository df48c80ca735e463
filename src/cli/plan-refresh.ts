import type { Command } from 'commander';
import { planRefresh } from '../commands/plan-refresh.js';
import { action, processOutput, withDatabaseOption } from './output.js';

/** `phasectl plan refresh <id>`: records again the views (and generated columns) that read a rename's column. */
export function registerPlanRefresh(plan: Command): void {
  withDatabaseOption(
    plan
      .command('refresh')
      .description(
        "record again the views and generated columns that read a rename's old column (after they changed since plan)",
      )
      .argument('<change_id>', 'the change whose records to refresh'),
  ).action(
    action(async (changeId: string, flags: { databaseUrl?: string }) => {
      const result = await planRefresh({ changeId, databaseUrl: flags.databaseUrl ?? process.env.DATABASE_URL });
      processOutput.out(
        `updated ${changeId} in ${result.file}: ${result.recorded.length === 0 ? 'no views or generated columns read the column' : result.recorded.join(', ')}\n`,
      );
      processOutput.out('next: phasectl generate\n');
    }),
  );
}
