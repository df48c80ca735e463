/**
 * Foreign keys of other tables that reference the renamed column: phase 1 adds a copy of each onto the new
 * column (NOT VALID, then VALIDATE: short locks), phase 3 drops the original before the column goes, and the
 * downs put the originals back. The copy keeps everything of the original (ON UPDATE/DELETE, MATCH,
 * deferrability) because it is the original's pg_get_constraintdef text with only the referenced column
 * renamed, proven by PostgreSQL's parser. Pure.
 */
import { isDeepStrictEqual } from 'node:util';
import { InputError } from '../errors.js';
import { fitIdentifier } from '../operations/naming.js';
import { acceptedConstraintTexts } from '../operations/definition-rewrite.js';
import { withoutNotValid } from '../operations/plan-parts.js';
import { parseStatement, quoteIdentLikePostgres, scanTokens, SqlParseError } from '../sql/parser.js';
import type { ReferencingForeignKey } from '../spec/types.js';

/** One foreign key to add, validate or drop on its own (referencing) table. */
export interface ForeignKeyPlan {
  schema: string;
  table: string;
  name: string;
  /** `FOREIGN KEY (…) REFERENCES …(…) … NOT VALID`. */
  definition: string;
  /** What pg_get_constraintdef may print for it: a constraint found under this name must read one of these. */
  accepted: string[];
  /** False when the original was NOT VALID itself. */
  validate: boolean;
  comment: string;
}

/** The copies phase 1 adds onto column `to` (and phase 3 keeps). */
export function foreignKeysOnNewColumn(
  keys: readonly ReferencingForeignKey[],
  from: string,
  to: string,
  where: string,
): ForeignKeyPlan[] {
  return keys.map((key) => {
    const { body, wasValid } = withoutNotValid(
      referencedColumnRenamed(key.definition, from, to, `${where}: foreign key ${key.name}`),
    );
    return {
      schema: key.schema,
      table: key.table,
      name: newForeignKeyName(key, to),
      definition: `${body} NOT VALID`,
      accepted: acceptedConstraintTexts(body),
      validate: wasValid,
      comment: `Foreign key ${key.name} of ${key.schema}.${key.table} copied onto ${to}; NOT VALID: checks new writes at once, old rows in the next step.`,
    };
  });
}

/** The originals, as phase 3's down restores them on column `from`. */
export function originalForeignKeys(keys: readonly ReferencingForeignKey[], from: string): ForeignKeyPlan[] {
  return keys.map((key) => {
    const { body, wasValid } = withoutNotValid(key.definition);
    return {
      schema: key.schema,
      table: key.table,
      name: key.name,
      definition: `${body} NOT VALID`,
      accepted: acceptedConstraintTexts(body),
      validate: wasValid,
      comment: `Foreign key ${key.name} of ${key.schema}.${key.table} on ${from}, as it was before phase 3; NOT VALID now, validated in the next step.`,
    };
  });
}

/**
 * The copy's name: `<name>_<to>` (63 bytes at most, else truncated with a hash). Not the original with the column
 * replaced: a foreign key's name usually spells its own (referencing) column, e.g. orders_user_email_fkey.
 */
export function newForeignKeyName(key: ReferencingForeignKey, to: string): string {
  return fitIdentifier(`${key.name}_${to}`);
}

const PREFIX = 'ALTER TABLE phasectl_table ADD CONSTRAINT phasectl_constraint ';

/**
 * A foreign key's pg_get_constraintdef text with the referenced column `from` renamed to `to` (the list after
 * `REFERENCES table`); its own columns and everything else kept byte for byte. The result must parse to the
 * original tree with exactly those names changed, else InputError.
 */
export function referencedColumnRenamed(definition: string, from: string, to: string, where: string): string {
  const sql = PREFIX + definition;
  try {
    const tokens = scanTokens(sql);
    const references = tokens.findIndex((token) => token.text.toLowerCase() === 'references');
    const open = tokens.findIndex((token, index) => index > references && token.text === '(');
    if (references < 0 || open < 0)
      throw new SqlParseError(`no REFERENCES … (columns) in ${JSON.stringify(definition)}`);
    const close = tokens.findIndex((token, index) => index > open && token.text === ')');
    const hits = tokens.slice(open + 1, close).filter((token) => denotedName(token.text) === from);
    const renamed = hits.reduceRight(
      (text, token) => text.slice(0, token.start) + quoteIdentLikePostgres(to) + text.slice(token.end),
      sql,
    );
    const expected = parseStatement(sql) as ConstraintTree;
    const attributes = constraintOf(expected).pk_attrs ?? [];
    for (const attribute of attributes) if (attribute.String?.sval === from) attribute.String.sval = to;
    if (hits.length === 0 || !isDeepStrictEqual(parseStatement(renamed), expected)) {
      throw new SqlParseError(`could not point ${JSON.stringify(definition)} at ${to}`);
    }
    return renamed.slice(PREFIX.length);
  } catch (error) {
    if (!(error instanceof SqlParseError)) throw error;
    throw new InputError(`${where}: phasectl cannot copy it onto ${to}: ${error.message}`, {
      hint: 'drop that foreign key before the change and re-create it on the new column after phase 3, or report this definition',
    });
  }
}

interface ConstraintTree {
  AlterTableStmt?: {
    cmds?: Array<{ AlterTableCmd?: { def?: { Constraint?: { pk_attrs?: Array<{ String?: { sval?: string } }> } } } }>;
  };
}

function constraintOf(tree: ConstraintTree) {
  const constraint = tree.AlterTableStmt?.cmds?.[0]?.AlterTableCmd?.def?.Constraint;
  if (!constraint) throw new SqlParseError('not a constraint definition');
  return constraint;
}

/** The name a scanner token spells: quoted exactly, bare folded to lower case. */
function denotedName(text: string): string {
  return text.startsWith('"') ? text.slice(1, -1).replace(/""/g, '"') : text.toLowerCase();
}

/** Plan's note: the foreign keys phasectl carries onto the new column. */
export function foreignKeyNotes(keys: readonly ReferencingForeignKey[], to: string): string[] {
  if (keys.length === 0) return [];
  return [
    `carried: foreign key ${keys.map((key) => `${key.name} on ${key.schema}.${key.table}`).join(', ')} — copied onto ${to} in phase 1 (NOT VALID, then validated), the original dropped in phase 3`,
  ];
}
