import { Command } from 'commander';
import { planMove } from '../commands/plan-move.js';
import { planRename, type PlanRenameOptions } from '../commands/plan.js';
import { registerPlanRefresh } from './plan-refresh.js';
import { action, printable, processOutput, withDatabaseOption } from './output.js';
import { withProjectOption } from './options.js';

/** The flags of `plan rename` are the library options minus the positional arguments. */
type PlanRenameFlags = Omit<PlanRenameOptions, 'dir' | 'projectDir' | 'target' | 'newName'> & { project?: string };

/** `phasectl plan rename …`: declares a change in phases.yaml and prints its three-release plan. */
export function register(program: Command): void {
  const plan = program
    .command('plan')
    .description('declare a column change in phases.yaml and print its three-release plan');
  withProjectOption(
    withDatabaseOption(
      plan
        .command('rename')
        .description('rename a column in three releases (expand, switch, contract)')
        .argument(
          '<column>',
          '[schema.]table.column; quote names with capitals, dots or spaces: \'"My Schema"."t.x".col\'',
        )
        .argument('<new_column>', 'the new column name')
        .option('--id <id>', 'change id (default: <table>-<from>-to-<to>)')
        .option('--type <sql type>', 'offline: the column type; with a database: a new type for the column')
        .option('--up <expr>', 'SQL expression of the old column giving the new value (type change)')
        .option(
          '--down <expr>',
          'SQL expression of the new column giving the old value (type change; required with --up)',
        )
        .option(
          '--lossy',
          'accept a conversion whose --down does not give every existing value back (checked on every row, recorded in phases.yaml)',
        )
        .option('--key <col:type,...>', 'offline: the table key the backfill walks, e.g. id:bigint')
        .option(
          '--replace',
          'correct a planned change not yet advanced (same id, or the same column) instead of adding one',
        ),
    ),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  $ phasectl plan rename users.job_title favourite_color --database-url postgres://app@localhost/app\n  $ phasectl plan rename billing.invoices.total amount --type numeric --key id:bigint   # offline' +
        '\n  $ phasectl plan rename users.job_title favorite_color --replace   # correct a typo in a change not yet advanced',
    )
    .action(
      action(async (column: string, newColumn: string, flags: PlanRenameFlags) => {
        const result = await planRename({
          projectDir: flags.project,
          target: column,
          newName: newColumn,
          id: flags.id,
          type: flags.type,
          up: flags.up,
          down: flags.down,
          lossy: flags.lossy,
          key: flags.key,
          replace: flags.replace,
          databaseUrl: flags.databaseUrl ?? process.env.DATABASE_URL,
        });
        printPlanned(result, flags.replace);
      }),
    );
  withProjectOption(
    withDatabaseOption(
      plan
        .command('move')
        .description('move a column to another table joined 1:1, in three releases (expand, switch, contract)')
        .argument('<column>', 'the column to move: [schema.]table.column')
        .argument('<target_column>', 'where it goes: [schema.]table.column (created when missing)')
        .requiredOption(
          '--on <source_col=target_col,...>',
          'the join: source columns (its key) = target columns (covered by a UNIQUE index); quote a name holding , = or spaces: id="User Id"',
        )
        .option('--id <id>', 'change id (default: <table>-<column>-to-<target table>)')
        .option(
          '--replace',
          'correct a planned change not yet advanced (same id, or the same column) instead of adding one',
        ),
    ),
  )
    .addHelpText(
      'after',
      '\nExample:\n  $ phasectl plan move users.address profiles.address --on id=user_id --database-url postgres://app@localhost/app',
    )
    .action(
      action(
        async (
          column: string,
          targetColumn: string,
          flags: { on: string; id?: string; databaseUrl?: string; project?: string; replace?: boolean },
        ) => {
          const result = await planMove({
            projectDir: flags.project,
            from: column,
            to: targetColumn,
            on: flags.on,
            id: flags.id,
            replace: flags.replace,
            databaseUrl: flags.databaseUrl ?? process.env.DATABASE_URL,
          });
          printPlanned(result, flags.replace);
        },
      ),
    );
  registerPlanRefresh(plan);
}

/** What `plan rename` and `plan move` print: the change added (or replaced), its plan, notes and the next step. */
function printPlanned(
  result: { change: { id: string }; file: string; plan: string; notes: string[] },
  replace: boolean | undefined,
): void {
  processOutput.out(
    `${replace ? 'replaced' : 'added'} change ${result.change.id} ${replace ? 'in' : 'to'} ${result.file}\n`,
  );
  // The plan and notes name objects read from the catalog (functions, views…): escape sequences are shown, not run.
  processOutput.out(printable(result.plan));
  for (const note of result.notes) processOutput.out(printable(`\n${note}`));
  processOutput.out('\nnext: phasectl advance --release <the release you are preparing>');
}
