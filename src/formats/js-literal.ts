/**
 * A JavaScript template literal holding `text` verbatim, so generated SQL stays readable in review:
 * only `\`, backticks and `${` are escaped. Pure.
 */
export function templateLiteral(text: string): string {
  return `\`${text.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${')}\``;
}
