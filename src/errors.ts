/** Exit codes, documented in the README. */
export const ExitCode = {
  ok: 0,
  /** A check found problems (check, generate --check, verify). */
  problems: 1,
  /** Bad input or usage: nothing was changed. */
  badInput: 2,
  /** The database or the environment failed us (unreachable, lock not obtained, guard refused). */
  failure: 3,
} as const;

export interface SourceLocation {
  file: string;
  line?: number;
  column?: number;
}

/**
 * An error phasectl expects and explains: printed as one message (plus the fix), never a stack trace.
 * `hint` says what to do next.
 */
export class PhasectlError extends Error {
  readonly exitCode: number;
  readonly hint?: string;
  readonly location?: SourceLocation;

  constructor(
    message: string,
    options: { exitCode?: number; hint?: string; location?: SourceLocation; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PhasectlError';
    this.exitCode = options.exitCode ?? ExitCode.badInput;
    this.hint = options.hint;
    this.location = options.location;
  }
}

/** Bad input: names the file and line when known. Exit 2. */
export class InputError extends PhasectlError {
  constructor(message: string, options: { hint?: string; location?: SourceLocation; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.badInput });
    this.name = 'InputError';
  }
}

/** The database or environment failed: exit 3. */
export class RuntimeFailure extends PhasectlError {
  constructor(message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...options, exitCode: ExitCode.failure });
    this.name = 'RuntimeFailure';
  }
}

/** `file:line:column: message` then `  fix: hint`, the one format every command prints errors in. */
export function formatError(error: PhasectlError): string {
  const where = error.location
    ? `${error.location.file}${error.location.line ? `:${error.location.line}` : ''}${error.location.line && error.location.column ? `:${error.location.column}` : ''}: `
    : '';
  return `error: ${where}${error.message}${error.hint ? `\n  fix: ${error.hint}` : ''}`;
}
