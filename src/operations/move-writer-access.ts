import { qualify, quoteLiteral } from '../render/quote.js';
import type { MoveChange } from '../spec/types.js';
import { writesTableSql } from '../sql/writer-roles.js';

/** One table of a move whose writes the sync copies to its partner: the columns it writes there and reads first. */
export interface MoveSyncSide {
  table: { schema: string; table: string };
  /** The moved column on this table and the join columns: an update of one of them (or any insert) syncs. */
  column: string;
  joins: string[];
  /** The partner table, its moved column (read and written) and its join columns (read). */
  partner: { schema: string; table: string; column: string; joins: string[] };
  /**
   * The partner's moved column is the one this step adds, with the column grants of this column copied onto it
   * (templates/shared/copy-column-grants.hbs): a privilege missing there is granted here, where a GRANT can run
   * before the step does (the refused step leaves no such column).
   */
  grantsFromHere?: boolean;
}

/**
 * The roles for which a move's sync would fail or miss rows: the sync functions are SECURITY INVOKER, so they read and
 * update the partner row with the rights of the role writing. A role that can insert into one table, or update its
 * moved or join columns, needs SELECT on the partner's join and moved columns and UPDATE on its moved column (else
 * its writes fail with "permission denied"); and row-level security on the partner must not apply to it (else a
 * policy that hides the partner row makes the sync skip it without an error: a lost write). Superusers, BYPASSRLS
 * roles and the partner's owner (without FORCE ROW LEVEL SECURITY) are not subject to it. Who writes is
 * src/sql/writer-roles.ts (a role that writes the table only through another owner's view counts too: its triggers
 * fire as that role); predefined `pg_*` roles are left out. One row per role and side: `problem` (what is wrong), `fix` (text[]: the GRANTs, none when no privilege is missing) and
 * `row_security`.
 * Only catalog functions, schema-qualified; run it where the moved column exists on both tables. Pure.
 */
export function moveWriterAccessSql(sides: readonly MoveSyncSide[]): string {
  return sides.map(sideSql).join('\nUNION ALL\n');
}

/**
 * Both sides of a move's sync as the change names them, once both columns exist (the gates of phases 2 and 3): the
 * source syncs to the target and back. Pure.
 */
export function moveSyncSides(change: MoveChange): MoveSyncSide[] {
  const { from, to, on } = change.move;
  return [
    {
      table: { schema: from.schema, table: from.table },
      column: from.column,
      joins: on.map((pair) => pair.from),
      partner: { schema: to.schema, table: to.table, column: to.column, joins: on.map((pair) => pair.to) },
    },
    {
      table: { schema: to.schema, table: to.table },
      column: to.column,
      joins: on.map((pair) => pair.to),
      partner: { schema: from.schema, table: from.table, column: from.column, joins: on.map((pair) => pair.from) },
    },
  ];
}

/**
 * The refusal of a move whose sync cannot see every partner row: row-level security on one table applies to a role
 * that writes the other (enabled, or the role granted writes, after phase 1's guard). The SECURITY INVOKER sync then
 * updates no partner row for that role's writes, without an error; from the switch on, the repair overwrites such a
 * write from the new column. One message for the runner's gate (src/runner/sync-in-place.ts, at the verify step that
 * opens phases 2 and 3) and the same guard inside phase 2's switch and phase 3's unsync files
 * (templates/move/partials/row-security-guard.hbs), which every runner applies: `messageStart`, the problems joined by
 * '; ', `messageEnd`. Pure.
 */
export function moveRowSecurityText(changeId: string): { messageStart: string; messageEnd: string; hint: string } {
  return {
    messageStart: `the sync of ${changeId} cannot see every partner row for every role that writes: `,
    messageEnd:
      '; a policy that hides the partner row makes the sync copy such a write nowhere, without an error, so phasectl stops before the next phase',
    hint:
      "give the role BYPASSRLS, or disable row-level security on that table while the move is in flight, or revoke the role's writes; " +
      `then apply the phase again from its verify step (\`phasectl migrate\` does): it counts the rows such a write left behind, and \`phasectl backfill ${changeId} --repair\` ` +
      'copies them from the authority column, so first check by hand which side such a role wrote',
  };
}

/**
 * The context of templates/move/partials/row-security-guard.hbs for `change`: the roles for which row-level security
 * on one table of the move hides the partner row from the sync (moveWriterAccessSql, its `row_security` rows), and
 * the refusal's text (moveRowSecurityText). Run where both columns exist: phases 2 and 3. Pure.
 */
export function moveRowSecurityGuard(change: MoveChange): {
  query: string;
  messageStart: string;
  messageEnd: string;
  hint: string;
} {
  return {
    query: `SELECT q.problem FROM (\n${moveWriterAccessSql(moveSyncSides(change))}\n) AS q WHERE q.row_security`,
    ...moveRowSecurityText(change.id),
  };
}

function sideSql(side: MoveSyncSide): string {
  const table = quoteLiteral(qualify(side.table.schema, side.table.table));
  const partner = quoteLiteral(qualify(side.partner.schema, side.partner.table));
  const has = (relation: string, column: string, privilege: string) =>
    `pg_catalog.has_column_privilege(r.oid, ${relation}::pg_catalog.regclass, ${quoteLiteral(column)}, '${privilege}')`;
  const unless = (relation: string, column: string, privilege: string, named = column) =>
    `CASE WHEN NOT ${has(relation, column, privilege)} THEN pg_catalog.quote_ident(${quoteLiteral(named)}) END`;
  const joinReads = side.partner.joins.map((column) => unless(partner, column, 'SELECT'));
  const list = (privilege: string, items: string) =>
    `'${privilege} (' OPERATOR(pg_catalog.||) NULLIF(${items}, '') OPERATOR(pg_catalog.||) ')'`;
  // What the partner lacks: SELECT on its join and moved columns, UPDATE on its moved column.
  const grants = `pg_catalog.concat_ws(', ',
      ${list('SELECT', `pg_catalog.array_to_string(ARRAY[${[...joinReads, unless(partner, side.partner.column, 'SELECT')].join(', ')}], ', ')`)},
      ${list('UPDATE', unless(partner, side.partner.column, 'UPDATE'))})`;
  // The GRANTs that give it: on the partner, or for its new column on this one (phase 1 copies them over). UPDATE on
  // the new column makes the role a writer of the partner too, whose sync reads this table's join columns.
  const hereJoinReads = side.joins.map(
    (column) =>
      `CASE WHEN NOT ${has(partner, side.partner.column, 'UPDATE')} THEN ${unless(table, column, 'SELECT')} END`,
  );
  const fix = side.grantsFromHere
    ? `pg_catalog.array_remove(ARRAY[
        'GRANT ' OPERATOR(pg_catalog.||) ${list('SELECT', `pg_catalog.array_to_string(ARRAY[${joinReads.join(', ')}], ', ')`)} OPERATOR(pg_catalog.||) ' ON ' OPERATOR(pg_catalog.||) ${partner} OPERATOR(pg_catalog.||) ' TO ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(r.rolname),
        'GRANT ' OPERATOR(pg_catalog.||) NULLIF(pg_catalog.concat_ws(', ',
            ${list('SELECT', `pg_catalog.array_to_string(ARRAY[${[...hereJoinReads, unless(partner, side.partner.column, 'SELECT', side.column)].join(', ')}], ', ')`)},
            ${list('UPDATE', unless(partner, side.partner.column, 'UPDATE', side.column))}), '')
          OPERATOR(pg_catalog.||) ' ON ' OPERATOR(pg_catalog.||) ${table} OPERATOR(pg_catalog.||) ' TO ' OPERATOR(pg_catalog.||) pg_catalog.quote_ident(r.rolname)], NULL)`
    : `pg_catalog.array_remove(ARRAY[CASE WHEN m.grants OPERATOR(pg_catalog.<>) '' THEN pg_catalog.format('GRANT %s ON %s TO %I', m.grants, ${partner}, r.rolname) END], NULL)`;
  return `SELECT pg_catalog.format('role %I writes %s and %s', r.rolname, ${table}, pg_catalog.concat_ws(' and ',
         CASE WHEN m.grants OPERATOR(pg_catalog.<>) '' THEN pg_catalog.format('lacks %s on %s', m.grants, ${partner}) END,
         CASE WHEN m.row_security THEN pg_catalog.format('row-level security on %s applies to it', ${partner}) END)) AS problem,
       ${fix} AS fix,
       m.row_security
  FROM pg_catalog.pg_roles AS r
  JOIN pg_catalog.pg_class AS p ON p.oid OPERATOR(pg_catalog.=) ${partner}::pg_catalog.regclass
  CROSS JOIN LATERAL (SELECT ${grants} AS grants,
    p.relrowsecurity AND NOT r.rolbypassrls
      AND (p.relforcerowsecurity OR NOT pg_catalog.pg_has_role(r.oid, p.relowner, 'USAGE')) AS row_security) AS m
 WHERE NOT r.rolsuper AND r.rolname OPERATOR(pg_catalog.!~) '^pg_'
   AND ${writesTableSql(
     'r.oid',
     `${table}::pg_catalog.regclass`,
     [side.column, ...side.joins].map((column) => quoteLiteral(column)),
   )}
   AND (m.grants OPERATOR(pg_catalog.<>) '' OR m.row_security)`;
}
