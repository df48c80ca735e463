import { Command } from 'commander';
import { ExitCode, formatError, PhasectlError } from '../errors.js';
import { redactUrl } from '../db/url.js';
import { streamStyle, style } from '../terminal/color.js';

/** Where command output goes; tests swap it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => void process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** The database URL from --database-url or DATABASE_URL; a clear error when neither is set. */
export function requireDatabaseUrl(option: string | undefined): string {
  const url = option ?? process.env.DATABASE_URL;
  if (!url) {
    throw new PhasectlError('no database given', {
      exitCode: ExitCode.badInput,
      hint: 'pass --database-url postgres://user@host:5432/db or set DATABASE_URL',
    });
  }
  return url;
}

/** Adds the shared --database-url option. */
export function withDatabaseOption(command: Command): Command {
  return command.option('--database-url <url>', 'PostgreSQL connection URL (default: $DATABASE_URL)');
}

let exitCode: number = ExitCode.ok;

/** Sets the process exit code of the running command (the highest wins). */
export function setExitCode(code: number): void {
  exitCode = Math.max(exitCode, code);
}

export function takeExitCode(): number {
  const code = exitCode;
  exitCode = ExitCode.ok;
  return code;
}

/**
 * Wraps a command action: expected errors print one message (and the fix) and set the exit code;
 * unexpected ones print their message (the stack only with --debug or PHASECTL_DEBUG=1). Passwords never print.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      setExitCode(code ?? ExitCode.ok);
    } catch (error) {
      setExitCode(reportError(error));
    }
  };
}

export function reportError(error: unknown, output: Output = processOutput): number {
  // Red "error:" only on a terminal (and never with NO_COLOR); output swapped by tests stays plain.
  const paint = output === processOutput ? streamStyle(process.stderr) : style(false);
  const colourPrefix = (text: string) => text.replace(/^error:/, paint.red(paint.bold('error:')));
  if (error instanceof PhasectlError) {
    output.err(colourPrefix(printable(redactSecrets(formatError(error)))));
    return error.exitCode;
  }
  const debug = process.env.PHASECTL_DEBUG === '1' || process.argv.includes('--debug');
  const message = error instanceof Error ? (debug ? (error.stack ?? error.message) : error.message) : String(error);
  output.err(colourPrefix(printable(redactSecrets(`error: ${message}`))));
  const fix = stateSchemaPermissionFix(error);
  if (fix) output.err(`  fix: ${fix}`);
  if (!debug) output.err('  (run with --debug for details)');
  return ExitCode.failure;
}

/**
 * PostgreSQL's "permission denied" (42501) on phasectl's own state (schema `phasectl`, its tables): the command runs
 * as a role that neither owns that schema nor is a member of its owner, e.g. a read-only role. Says which role to use.
 */
function stateSchemaPermissionFix(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  if (code !== '42501' || !/\bphasectl\b/.test(message)) return undefined;
  return "run it as the role that owns schema phasectl (the migration role) or as a member of that role (GRANT <owner> TO <this role>; see phasectl's docs/privileges.md)";
}

/** Removes passwords from any postgres URL inside a message. */
export function redactSecrets(text: string): string {
  return text.replace(/postgres(?:ql)?:\/\/[^\s'"]+/g, (url) => redactUrl(url));
}

/**
 * Text safe to print on a terminal: names read from the catalog or phases.yaml may hold escape sequences or
 * other non-printing characters; they are shown as \u{…} (line breaks and tabs of our own messages stay).
 */
export function printable(text: string): string {
  return text.replace(/[^\P{C}\n\t]|[\u2028\u2029]/gu, (character) => `\\u{${character.codePointAt(0)!.toString(16)}}`);
}
