import type { Command } from 'commander';
import { init } from '../commands/init.js';
import { action, processOutput } from './output.js';
import { withProjectOption } from './options.js';

/** `phasectl init`: phases.yaml and the db/ folders, never overwriting. */
export function register(program: Command): void {
  withProjectOption(program.command('init'))
    .description('create phases.yaml and db/migrations, db/functions, db/triggers (never overwrites)')
    .addHelpText('after', '\nExamples:\n  $ phasectl init\n  $ phasectl init --project services/billing')
    .action(
      action(async (flags: { project?: string }) => {
        const result = await init({ projectDir: flags.project });
        for (const path of result.created) processOutput.out(`created ${path}`);
        for (const path of result.existing) processOutput.out(`kept    ${path} (already exists)`);
        processOutput.out('next: phasectl plan rename <table>.<column> <new_name>');
      }),
    );
}
