import type { Command } from 'commander';
import { planRefresh } from '../commands/plan-refresh.js';
import { action, printable, processOutput, withDatabaseOption } from './output.js';

/** `phasectl plan refresh <id>`: records again what else uses a change's column (views, functions, triggers, keys). */
export function registerPlanRefresh(plan: Command): void {
  withDatabaseOption(
    plan
      .command('refresh')
      .description(
        "record again what uses a change's old column (views, generated columns, foreign keys, functions, triggers) after it changed since plan",
      )
      .argument('<change_id>', 'the change whose records to refresh'),
  ).action(
    action(async (changeId: string, flags: { databaseUrl?: string }) => {
      const result = await planRefresh({ changeId, databaseUrl: flags.databaseUrl ?? process.env.DATABASE_URL });
      // Names read from the catalog: escape sequences are shown, not run.
      processOutput.out(
        printable(
          `updated ${changeId} in ${result.file}: ${result.recorded.length === 0 ? 'nothing else uses the column' : result.recorded.join(', ')}\n`,
        ),
      );
      for (const note of result.notes) processOutput.out(printable(`${note}\n`));
      processOutput.out('next: phasectl generate\n');
    }),
  );
}
