import { Option, type Command } from 'commander';
import { check } from '../commands/check.js';
import { githubErrorLine, renderGithub } from '../check/report-github.js';
import { renderJson } from '../check/report-json.js';
import { renderText } from '../check/report-text.js';
import { PhasectlError } from '../errors.js';
import { action, processOutput, type Output } from './output.js';
import { withProjectOption } from './options.js';
import { streamStyle, style } from '../terminal/color.js';

interface CheckFlags {
  base?: string;
  format: 'text' | 'json' | 'github';
  releaseTags?: string;
  project?: string;
}

/** `phasectl check`: the CI gate. Exit 0 clean, 1 violations, 2 bad input. */
export function register(program: Command, output: Output = processOutput): void {
  withProjectOption(program.command('check'))
    .description(
      'CI gate: no skipped phase, no two phases in one release or pull request, generated files current, shipped files unchanged, dropped columns unreferenced',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  $ phasectl check                                   # compares with the merge base of origin/main\n  $ phasectl check --base origin/release-1.5 --format json\n  $ phasectl check --format github                   # annotations in GitHub Actions',
    )
    .option(
      '--base <ref>',
      'compare with this ref (default: merge base with origin/main, else the newest --release-tags tag)',
    )
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json', 'github']).default('text'))
    .option(
      '--release-tags <pattern>',
      'tag glob of shipped releases, * standing for the release name (e.g. "v*"): a phase is added only after the previous one shipped',
    )
    .action(
      action(async (flags: CheckFlags) => {
        try {
          const report = await check({
            projectDir: flags.project ?? '.',
            base: flags.base,
            releaseTags: flags.releaseTags,
          });
          if (flags.format === 'text') {
            // Colour only the text format, only on a terminal (an Output swapped by tests stays plain).
            output.out(renderText(report, output === processOutput ? streamStyle(process.stdout) : style(false)));
          } else {
            output.out(flags.format === 'json' ? renderJson(report) : renderGithub(report));
          }
          return report.exitCode;
        } catch (error) {
          // Annotate the pull request too; the error itself is printed (to stderr) by `action`.
          if (flags.format === 'github' && error instanceof PhasectlError)
            output.out(githubErrorLine(error.message, error.hint));
          throw error;
        }
      }),
    );
}
