import type { Command } from 'commander';
import { advance } from '../commands/advance.js';
import { action, processOutput } from './output.js';
import { withProjectOption } from './options.js';

/** `phasectl advance`: every in-flight change moves one phase into the release; files are written. */
export function register(program: Command): void {
  withProjectOption(program.command('advance'))
    .description('move every in-flight change one phase into a release and write its migration files')
    .option('--release <name>', 'the release being prepared (default: $PHASECTL_RELEASE, else package.json version)')
    .option('--change <id>', 'advance only this change')
    .option(
      '--force-order',
      'accept a new release name that does not sort after the latest one (numbers compare as numbers, the rest as text)',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ phasectl advance --release 1.4.0\n  $ phasectl advance --release 1.5.0 --change users-job-title-to-favourite-color\n  $ phasectl advance --release 2025.1-hotfix --force-order   # a name that does not sort after 2025.10',
    )
    .action(
      action(async (flags: { project?: string; release?: string; change?: string; forceOrder?: boolean }) => {
        const result = await advance({
          projectDir: flags.project,
          release: flags.release,
          changeId: flags.change,
          forceOrder: flags.forceOrder,
        });
        if (result.kind === 'nothing') {
          processOutput.out(result.message);
          return;
        }
        for (const move of result.moves) {
          processOutput.out(`${move.changeId}: phase ${move.from} → ${move.to} in release ${result.release}`);
        }
        for (const path of result.written) processOutput.out(`  wrote ${path}`);
        if (result.unchanged.length > 0)
          processOutput.out(`  (${result.unchanged.length} generated file(s) unchanged)`);
        processOutput.out('next: review and commit phases.yaml and db/, then run `phasectl migrate` on deploy');
      }),
    );
}
