/**
 * The CLI's one colour switch. Colour only on a terminal; never with NO_COLOR set to any non-empty value
 * (no-color.org); FORCE_COLOR (non-empty, not "0") turns it on without a terminal. JSON output is never coloured.
 */
export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  green(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/** Whether to colour what is written to `stream`. Pure. */
export function useColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false') return true;
  return stream.isTTY === true;
}

/** ANSI styles, or plain text when `enabled` is false. */
export function style(enabled: boolean): Style {
  const wrap = (open: number, close: number) => (text: string) =>
    enabled ? `\u001b[${open}m${text}\u001b[${close}m` : text;
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}

/** The style for stdout or stderr of this process. */
export function streamStyle(stream: NodeJS.WriteStream): Style {
  return style(useColor(stream));
}
