/**
 * Index and constraint definitions (as pg_get_indexdef / pg_get_constraintdef printed them) rewritten onto
 * another column with PostgreSQL's own parser, and the texts the guarded steps expect to find when the name
 * is already taken. Pure.
 */
import { InputError } from '../errors.js';
import {
  findTopLevelKeyword,
  quoteIdentLikePostgres,
  renameColumn,
  SqlParseError,
  type ColumnRename,
} from '../sql/parser.js';

/** `CREATE [UNIQUE] INDEX <name> ON <on>` as pg_get_indexdef prints it: what an existing index must read. */
export function indexDefinition(unique: boolean, name: string, on: string): string {
  return `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${quoteIdentLikePostgres(name)} ON ${on}`;
}

/**
 * What follows `ON` in a pg_get_indexdef text (`public.t USING btree (c) WHERE …`), with the column renamed
 * when `rename` is given. `where` names the change and index in errors.
 */
export function indexAfterOn(definition: string, rename: ColumnRename | undefined, where: string): string {
  const text = rename ? rewrite(definition, rename, where) : definition;
  const on = /^\s*CREATE\s/i.test(text) ? findTopLevelKeyword(text, 'on') : undefined;
  if (!on) {
    throw new InputError(`${where} has a definition phasectl cannot read: ${definition}`, {
      hint: 'run `phasectl plan` again so the definition is read from the database (pg_get_indexdef)',
    });
  }
  return text.slice(on.end).trim();
}

/** What follows the table in an index's `ON` part: `USING btree (c) WHERE …`. */
export function indexMethodAndColumns(afterOn: string, where: string): string {
  const using = findTopLevelKeyword(afterOn, 'using');
  if (!using)
    throw new InputError(`${where} has a definition phasectl cannot read: ON ${afterOn}`, {
      hint: 'run `phasectl plan` again',
    });
  return afterOn.slice(using.start).trim();
}

/** A pg_get_constraintdef text (CHECK, FOREIGN KEY, UNIQUE …) with the column renamed; a foreign key's referenced columns stay. */
export function constraintOnColumn(definition: string, rename: ColumnRename, where: string): string {
  const prefix = 'ALTER TABLE phasectl_table ADD CONSTRAINT phasectl_constraint ';
  return rewrite(prefix + definition, rename, where).slice(prefix.length);
}

/** `CHECK ((c IS NOT NULL))`: the NOT NULL check as pg_get_constraintdef prints it. */
export function notNullCheckDefinition(column: string): string {
  return `CHECK ((${quoteIdentLikePostgres(column)} IS NOT NULL))`;
}

/** The texts pg_get_constraintdef prints for a constraint added from `body` NOT VALID: before and after VALIDATE. */
export function acceptedConstraintTexts(body: string): string[] {
  return [body, `${body} NOT VALID`];
}

function rewrite(sql: string, rename: ColumnRename, where: string): string {
  try {
    return renameColumn(sql, rename);
  } catch (error) {
    if (!(error instanceof SqlParseError)) throw error;
    throw new InputError(`${where}: phasectl cannot copy its definition onto ${rename.newName}: ${error.message}`, {
      hint: 'drop that index or constraint before the change and re-create it on the new column afterwards, or report this definition',
    });
  }
}
