import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import {
  copyFunctionName,
  insertFunctionName,
  syncFunctionName,
  targetSyncFunctionName,
} from '../operations/naming.js';
import { moveRowSecurityGuard } from '../operations/move-writer-access.js';
import { qualify, quoteIdent } from '../render/quote.js';
import { displayColumn, displayIdentifier } from '../spec/identifiers.js';
import { inheritanceChildrenSql } from '../sql/inheritance-children.js';
import type { Change, MoveChange } from '../spec/types.js';

/**
 * What a change in flight needs from the database besides its own objects, checked at the gates of phases 2 and 3
 * (their verify step), before anything counts or changes: mistakes a user makes by hand that verify cannot see.
 *
 * - A sync trigger left disabled (`ALTER TABLE … DISABLE TRIGGER ALL` for a bulk load, never enabled again): the
 *   writes of one release stop reaching the other column, and every one written after the gate is lost at phase 3.
 * - A sync trigger enabled again without ALWAYS (`ALTER TABLE … ENABLE TRIGGER ALL` after a bulk load): it no longer
 *   fires for rows written under `session_replication_role = replica` (a logical-replication subscription applying
 *   to the table), so those writes reach one column only, in this phase and every later one.
 * - A child table created by `INHERITS` (a partition is carried): the sync triggers never fire for its rows, so its
 *   writes fail on the inherited NOT NULL stand-in or reach one column only, and phase 3 drops the old column there.
 * - A DEFAULT given to a rename's new column before phase 3 moves it: an INSERT of the old release then carries the
 *   default in the new column, and the sync keeps the new column's value over the one written to the old column, so
 *   the inserted value is lost silently (both columns end up equal: verify counts nothing).
 * - Row-level security on one table of a move, enabled (or a role granted writes) after phase 1's guard, that applies
 *   to a role writing the other: the SECURITY INVOKER sync updates the partner row as that role, and a policy hiding
 *   that row makes it update nothing, without an error. From the switch on, such a write of the old release is then
 *   overwritten from the new column by the repair. (Missing privileges need no gate: those writes fail loudly.)
 */
export async function requireSyncInPlace(session: pg.ClientBase, change: Change): Promise<void> {
  await refuseMissingColumns(session, change);
  await refuseInheritanceChildren(session, change);
  await refuseDisabledSyncTriggers(session, change);
  if (change.kind === 'rename') await refuseNewColumnDefault(session, change);
  if (change.kind === 'move') await refuseRowSecurityOnPartner(session, change);
}

/** Both columns of the change, as the generated files name them: a table or column renamed or dropped by hand is not followed. */
function columnsOf(change: Change): Array<{ schema: string; table: string; column: string }> {
  if (change.kind === 'rename') {
    const { schema, table, from, to } = change.rename;
    return [
      { schema, table, column: from },
      { schema, table, column: to },
    ];
  }
  return [change.move.from, change.move.to];
}

async function refuseInheritanceChildren(session: pg.ClientBase, change: Change): Promise<void> {
  const tables = [...new Set(columnsOf(change).map(({ schema, table }) => qualify(schema, table)))];
  for (const table of tables) {
    const { rows } = await session.query<{ children: string | null }>(
      inheritanceChildrenSql('pg_catalog.to_regclass($1)'),
      [table],
    );
    const children = rows[0]?.children;
    if (!children) continue;
    throw new RuntimeFailure(
      `${table} has child tables by INHERITS (${children}), created while ${change.id} is in flight: the sync triggers do not fire for their rows, so their writes fail or reach one column only, and phase 3 would drop the old column there`,
      {
        hint: `make each child stand alone (ALTER TABLE <child> NO INHERIT ${table}: it keeps its rows and both columns, which the change then leaves alone; settle their values there by hand), then \`phasectl migrate\` again`,
      },
    );
  }
}

async function refuseMissingColumns(session: pg.ClientBase, change: Change): Promise<void> {
  await refuseMissingTables(session, change);
  for (const { schema, table, column } of columnsOf(change)) {
    const { rows } = await session.query<{ column_exists: boolean }>(
      `SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
                         AND a.attname OPERATOR(pg_catalog.=) $2 AND NOT a.attisdropped) AS column_exists`,
      [qualify(schema, table), column],
    );
    if (rows[0]?.column_exists) continue;
    throw new RuntimeFailure(
      `${displayColumn(schema, table, column)} does not exist, but ${change.id} is in flight on it: it was renamed or dropped by hand, and the generated files name it`,
      {
        hint: `rename it back (ALTER TABLE ${qualify(schema, table)} RENAME COLUMN … TO ${quoteIdent(column)}): phasectl cannot follow a rename made by hand; a dropped column's values are gone (restore them from a backup). Then \`phasectl migrate\` again`,
      },
    );
  }
}

/**
 * Each table of the change exists under the name the generated files give it. One renamed or moved to another schema
 * by hand (`ALTER TABLE … RENAME TO …`, `ALTER TABLE … SET SCHEMA …`) is found by the change's sync triggers it still
 * carries (or, without them, by its name in another schema), and the refusal gives the statement that puts it back.
 * `migrate` checks it at the gates of phases 2 and 3, `rollback` before its first down file: their SQL names the
 * table, and would fail on it half way with PostgreSQL's "relation does not exist".
 */
export async function refuseMissingTables(
  session: pg.ClientBase,
  change: Change,
  again = '`phasectl migrate` again',
): Promise<void> {
  const tables = [
    ...new Map(columnsOf(change).map(({ schema, table }) => [qualify(schema, table), { schema, table }])).values(),
  ];
  for (const { schema, table } of tables) {
    const { rows } = await session.query<{ exists: boolean }>(
      'SELECT pg_catalog.to_regclass($1) IS NOT NULL AS exists',
      [qualify(schema, table)],
    );
    if (rows[0]?.exists) continue;
    const found = await findMovedTable(session, change, { schema, table }, tables);
    const missing = `table ${displayColumn(schema, table)} does not exist, but ${change.id} is in flight on it`;
    const tail = `phasectl cannot follow a table renamed or moved by hand, and the generated files name it. Then ${again}`;
    if (!found)
      throw new RuntimeFailure(`${missing}: it was renamed, moved to another schema or dropped by hand`, {
        hint: `put it back under its name (ALTER TABLE … RENAME TO ${quoteIdent(table)}, or ALTER TABLE … SET SCHEMA ${quoteIdent(schema)}): ${tail}`,
      });
    const statements: string[] = [];
    const what: string[] = [];
    if (found.schema !== schema) {
      statements.push(`ALTER TABLE ${qualify(found.schema, found.table)} SET SCHEMA ${quoteIdent(schema)};`);
      what.push(`moved to schema ${displayIdentifier(found.schema)}`);
    }
    if (found.table !== table) {
      statements.push(`ALTER TABLE ${qualify(schema, found.table)} RENAME TO ${quoteIdent(table)};`);
      what.push(`renamed to ${displayIdentifier(found.table)}`);
    }
    const move = found.schema !== schema ? 'move it back' : 'rename it back';
    throw new RuntimeFailure(
      `${missing}: it was ${what.join(' and ')} by hand (${displayColumn(found.schema, found.table)} ${found.how})`,
      { hint: `${move}: ${statements.join(' ')} ${tail}` },
    );
  }
}

/** The functions (schema phasectl) whose triggers are a change's sync triggers, whatever its kind and form. */
function syncFunctionNames(changeId: string): string[] {
  return [
    syncFunctionName(changeId),
    targetSyncFunctionName(changeId),
    insertFunctionName(changeId, 'any'),
    insertFunctionName(changeId, 'old'),
    insertFunctionName(changeId, 'new'),
    copyFunctionName(changeId),
  ];
}

/**
 * Where a table of the change went: the one table (not a partition) carrying the change's sync triggers that is not
 * another table of the change under its own name; without such triggers, the one table of that name in another schema.
 */
async function findMovedTable(
  session: pg.ClientBase,
  change: Change,
  missing: { schema: string; table: string },
  tables: Array<{ schema: string; table: string }>,
): Promise<{ schema: string; table: string; how: string } | undefined> {
  const functions = syncFunctionNames(change.id);
  const { rows: triggered } = await session.query<{ schema: string; table: string }>(
    `SELECT DISTINCT n.nspname::pg_catalog.text AS schema, c.relname::pg_catalog.text AS table
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
       JOIN pg_catalog.pg_namespace pn ON pn.oid OPERATOR(pg_catalog.=) p.pronamespace
       JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tgrelid
       JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      WHERE pn.nspname OPERATOR(pg_catalog.=) 'phasectl' AND p.proname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.name[])
        AND NOT c.relispartition
        AND c.oid OPERATOR(pg_catalog.<>) ALL (
              SELECT r FROM pg_catalog.unnest($2::pg_catalog.text[]) AS u(name),
                            LATERAL pg_catalog.to_regclass(u.name) AS r WHERE r IS NOT NULL)
      ORDER BY 1, 2`,
    [functions, tables.map(({ schema, table }) => qualify(schema, table))],
  );
  // Two left (a move's tables both moved): the one that kept its name or its schema.
  const byTrigger =
    triggered.length === 1
      ? triggered
      : triggered.filter((row) => row.table === missing.table || row.schema === missing.schema);
  if (byTrigger.length === 1) return { ...byTrigger[0]!, how: `carries its sync triggers` };
  if (triggered.length > 0) return undefined;
  const { rows: named } = await session.query<{ schema: string }>(
    `SELECT n.nspname::pg_catalog.text AS schema
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
      WHERE c.relname OPERATOR(pg_catalog.=) $1 AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p}'::pg_catalog.char[])
        AND NOT c.relispartition`,
    [missing.table],
  );
  if (named.length === 1)
    return { schema: named[0]!.schema, table: missing.table, how: 'has its name; its sync triggers were not found' };
  return undefined;
}

async function refuseDisabledSyncTriggers(session: pg.ClientBase, change: Change): Promise<void> {
  const functions = syncFunctionNames(change.id);
  // Partition clones count too: each has its own tgenabled. 'D' disabled, 'R' fires only as a replica, 'O' fires
  // only outside replica mode (ENABLE without ALWAYS). phasectl installs them 'A' (ALWAYS).
  const { rows } = await session.query<{ table: string; trigger: string; state: string }>(
    `SELECT t.tgrelid::pg_catalog.regclass::pg_catalog.text AS table, t.tgname::pg_catalog.text AS trigger,
            t.tgenabled::pg_catalog.text AS state
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) t.tgfoid
       JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
      WHERE n.nspname OPERATOR(pg_catalog.=) 'phasectl' AND p.proname OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.name[])
        AND t.tgenabled OPERATOR(pg_catalog.<>) 'A'
      ORDER BY 1, 2`,
    [functions],
  );
  if (rows.length === 0) return;
  const list = rows.map((row) => `${row.trigger} on ${row.table}`).join(', ');
  const enable = rows.map((row) => `ALTER TABLE ${row.table} ENABLE ALWAYS TRIGGER ${quoteIdent(row.trigger)};`);
  const fix = `enable them (${[...new Set(enable)].join(' ')}), then`;
  if (rows.some((row) => row.state !== 'O'))
    throw new RuntimeFailure(
      `sync trigger(s) of ${change.id} disabled: ${list}; writes to one column are not copied to the other, so phasectl stops before the next phase`,
      {
        hint: `${fix} run \`phasectl backfill ${change.id} --repair\` for the writes made meanwhile, then \`phasectl migrate\` again`,
      },
    );
  throw new RuntimeFailure(
    `sync trigger(s) of ${change.id} enabled without ALWAYS (as \`ENABLE TRIGGER ALL\` leaves them): ${list}; they skip rows written under session_replication_role = replica (logical-replication subscriptions, bulk loads), so phasectl stops before the next phase`,
    {
      hint: `${fix} \`phasectl migrate\` again (its verify finds any row such a write left behind; \`phasectl backfill ${change.id} --repair\` settles them)`,
    },
  );
}

async function refuseNewColumnDefault(session: pg.ClientBase, change: Change & { kind: 'rename' }): Promise<void> {
  const { schema, table, to } = change.rename;
  const { rows } = await session.query<{ expression: string }>(
    `SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS expression
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_attrdef d ON d.adrelid OPERATOR(pg_catalog.=) a.attrelid AND d.adnum OPERATOR(pg_catalog.=) a.attnum
      WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1) AND a.attname OPERATOR(pg_catalog.=) $2
        AND NOT a.attisdropped AND a.attgenerated OPERATOR(pg_catalog.=) ''`,
    [qualify(schema, table), to],
  );
  const expression = rows[0]?.expression;
  if (expression === undefined) return;
  const column = displayColumn(schema, table, to);
  throw new RuntimeFailure(
    `${column} has a DEFAULT (${expression}) although phase 3 has not moved it there: an INSERT of the old release gets that default in ${to}, and the sync keeps it over the value written to ${change.rename.from}`,
    {
      hint: `drop it (ALTER TABLE ${qualify(schema, table)} ALTER COLUMN ${quoteIdent(to)} DROP DEFAULT; phase 3 moves the old column's default over), check the rows inserted since it was added, then \`phasectl migrate\` again`,
    },
  );
}

async function refuseRowSecurityOnPartner(session: pg.ClientBase, change: MoveChange): Promise<void> {
  // The same check and message as the guard of the switch and unsync files (row-security-guard.hbs): here it comes
  // first, before the verify, whose count of differing rows would not say why.
  const guard = moveRowSecurityGuard(change);
  const { rows } = await session.query<{ problem: string }>(`${guard.query} ORDER BY 1`);
  if (rows.length === 0) return;
  throw new RuntimeFailure(guard.messageStart + rows.map((row) => row.problem).join('; ') + guard.messageEnd, {
    hint: guard.hint,
  });
}
