import type { Command } from 'commander';
import { init } from '../commands/init.js';
import { action, processOutput } from './output.js';

/** `phasectl init`: phases.yaml and the db/ folders, never overwriting. */
export function register(program: Command): void {
  program
    .command('init')
    .description('create phases.yaml and db/migrations, db/functions, db/triggers (never overwrites)')
    .addHelpText('after', '\nExample:\n  $ phasectl init')
    .action(
      action(async () => {
        const result = await init();
        for (const path of result.created) processOutput.out(`created ${path}`);
        for (const path of result.existing) processOutput.out(`kept    ${path} (already exists)`);
        processOutput.out('next: phasectl plan rename <table>.<column> <new_name>');
      }),
    );
}
