import type { Command } from 'commander';
import { unplan } from '../commands/unplan.js';
import { withProjectOption } from './options.js';
import { action, processOutput } from './output.js';

/** `phasectl unplan <id>`: removes a planned change that no release holds yet. */
export function register(program: Command): void {
  withProjectOption(
    program
      .command('unplan')
      .description(
        'remove a planned change that has not been advanced from phases.yaml (to correct one, `plan … --replace`)',
      )
      .argument('<change-id>', 'the id of the change in phases.yaml'),
  )
    .addHelpText(
      'after',
      '\nExample:\n  $ phasectl unplan users-job-title-to-favourite-color' +
        '\n\nOnce a phase of the change is in a release it is refused (exit 2, nothing changed): roll back instead.',
    )
    .action(
      action(async (changeId: string, flags: { project?: string }) => {
        const result = await unplan({ changeId, projectDir: flags.project });
        processOutput.out(`removed change ${result.change.id} from ${result.file}`);
      }),
    );
}
