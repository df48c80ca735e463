import { splitStatements } from '../sql/split-statements.js';

/** Statements every phasectl file repeats (timeouts, the state schema, the phase record): not worth showing. */
const boilerplate = [
  /^SET (LOCAL )?(lock_timeout|statement_timeout)\b/i,
  /^CREATE SCHEMA IF NOT EXISTS phasectl\b/i,
  /^CREATE TABLE IF NOT EXISTS phasectl\./i,
  /^INSERT INTO phasectl\.changes\b/i,
];

/**
 * The key statements of a migration file, one line each, for people watching the demo: the first line
 * of every statement that is not boilerplate; a DO block is named by the first comment line above it. Pure.
 */
export function keyStatements(fileText: string, maxWidth = 110): string[] {
  const lines: string[] = [];
  for (const statement of splitStatements(fileText)) {
    const all = statement.split('\n');
    const isCode = (line: string) => line.trim() !== '' && !line.trimStart().startsWith('--');
    const code = all.filter(isCode);
    // The comments above the statement (not those inside a DO body) say what it is for.
    const leading = all.slice(0, Math.max(0, all.findIndex(isCode)));
    const comments = leading.filter((line) => line.trimStart().startsWith('--'));
    const first = code[0]?.trim();
    if (!first || boilerplate.some((pattern) => pattern.test(first))) continue;
    let line = first;
    if (/^DO\b/i.test(first)) {
      const label = comments[0]?.replace(/^\s*--\s*/, '');
      line = `DO $$ … $$${label ? `  -- ${label}` : ''}`;
    } else if (code.length > 1) line = `${first} …`;
    lines.push(line.length > maxWidth ? `${line.slice(0, maxWidth - 1)}…` : line);
  }
  return lines;
}
