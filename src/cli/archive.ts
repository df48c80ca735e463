import type { Command } from 'commander';
import { archive } from '../commands/archive.js';
import { withProjectOption } from './options.js';
import { action, processOutput } from './output.js';

/** `phasectl archive <id>`: retires a change whose phase 3 has shipped from the live list of phases.yaml. */
export function register(program: Command): void {
  withProjectOption(
    program
      .command('archive')
      .description(
        'retire a change whose phase 3 has shipped: it moves to `archived:` in phases.yaml; its files stay generated and checked',
      )
      .argument('<change-id>', 'the id of the change in phases.yaml'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  $ phasectl archive users-job-title-to-favourite-color   # after release 1.6.0 (its phase 3) has shipped' +
        '\n\nA change not yet through phase 3 is refused (exit 2, nothing changed).',
    )
    .action(
      action(async (changeId: string, flags: { project?: string }) => {
        const result = await archive({ changeId, projectDir: flags.project });
        processOutput.out(
          `archived change ${result.changeId} (phase 3 in release ${result.release}) in ${result.file}`,
        );
        processOutput.out(
          'its migration files stay as they are and are still checked; `phasectl status` still shows it',
        );
        processOutput.out('next: commit phases.yaml');
      }),
    );
}
