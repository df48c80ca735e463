import { sql, type Kysely } from 'kysely';
import { InputError } from '../errors.js';
import { SYNC_TRIGGER_NAME_PATTERN, SYNC_TRIGGER_PREFIX } from '../operations/naming.js';
import { displayIdentifier } from '../spec/identifiers.js';

/**
 * Refusals about what surrounds the column (security, replication, other objects that depend on it),
 * checked by `plan` before anything is written. Each throws an InputError naming the objects and the fix.
 * Each one prevents a silent loss or a phase that could not finish:
 * - row-level security that filters the role running the backfill (rows skipped, then dropped in phase 3);
 * - policies, triggers, statistics, generated columns or (for a move) an owned sequence that depend on the column (phase 3's
 *   DROP COLUMN fails or silently takes them with it);
 * - a publication whose column list names the column (subscribers would never receive the new column);
 * - user BEFORE row triggers that fire after phasectl's (their changes to the column would not be copied).
 */
export async function refuseUnsafeSurroundings(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  where: string,
  tableName: string,
  /**
   * A rename re-creates the triggers that name the column (src/dependents/triggers.ts) and gives the sequences it owns
   * to the new column in phase 3 (templates/shared/carry-owned-sequences.hbs); a move refuses both.
   */
  carried: { triggers: boolean; sequences?: boolean } = { triggers: false },
): Promise<void> {
  await refuseRowLevelSecurity(db, tableOid, attnum, where, tableName);
  await refuseDependentObjects(db, tableOid, attnum, where, carried.triggers, carried.sequences === true);
  await refusePublicationColumnLists(db, tableOid, attnum, where);
  // A rename chooses a sync trigger name that sorts after them instead (src/catalog/sync-trigger-name.ts).
  if (!carried.triggers) await refuseLateBeforeTriggers(db, tableOid, tableName);
}

async function refuseRowLevelSecurity(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  where: string,
  tableName: string,
): Promise<void> {
  const { rows } = await sql<{ enabled: boolean; forced: boolean; active: boolean }>`
    SELECT c.relrowsecurity AS enabled, c.relforcerowsecurity AS forced, pg_catalog.row_security_active(c.oid) AS active
    FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) ${tableOid}`.execute(db);
  const table = rows[0];
  if (!table?.enabled) return;
  if (table.forced || table.active) {
    throw new InputError(
      `${tableName} has row-level security that applies to ${table.forced ? 'its owner (FORCE ROW LEVEL SECURITY)' : 'the role planning this change'}; the backfill would silently skip the rows the policies hide, and phase 3 would drop their values`,
      {
        hint: `run phasectl as the table owner without FORCE (ALTER TABLE ${tableName} NO FORCE ROW LEVEL SECURITY for the duration of the change), or as a role with BYPASSRLS`,
      },
    );
  }
}

/** Objects phase 3's DROP COLUMN would fail on (policies, triggers) or silently drop (statistics, an owned sequence). */
async function refuseDependentObjects(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  where: string,
  triggersCarried: boolean,
  sequencesCarried: boolean,
): Promise<void> {
  const { rows } = await sql<{ kind: string; name: string }>`
    SELECT 'policy' AS kind, pg_catalog.quote_ident(p.polname) AS name
    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_policy p ON p.oid OPERATOR(pg_catalog.=) d.objid
    WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::regclass AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::regclass
      AND d.refobjid OPERATOR(pg_catalog.=) ${tableOid} AND d.refobjsubid OPERATOR(pg_catalog.=) ${attnum}
    UNION
    SELECT 'trigger', pg_catalog.quote_ident(t.tgname)
    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_trigger t ON t.oid OPERATOR(pg_catalog.=) d.objid
    WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::regclass AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::regclass
      AND d.refobjid OPERATOR(pg_catalog.=) ${tableOid} AND d.refobjsubid OPERATOR(pg_catalog.=) ${attnum} AND NOT t.tgisinternal
      AND NOT (t.tgname::text OPERATOR(pg_catalog.~) ${SYNC_TRIGGER_NAME_PATTERN}) AND NOT ${triggersCarried}
    UNION
    SELECT 'statistics object', pg_catalog.quote_ident(s.stxname)
    FROM pg_catalog.pg_statistic_ext s
    WHERE s.stxrelid = ${tableOid} AND (${attnum}::int2 OPERATOR(pg_catalog.=) ANY (s.stxkeys::int2[]) OR EXISTS (
      SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_statistic_ext'::regclass AND d.objid = s.oid
        AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = ${tableOid} AND d.refobjsubid = ${attnum}))
    UNION
    SELECT 'stored generated column', pg_catalog.quote_ident(a.attname)
    FROM pg_catalog.pg_depend d
    JOIN pg_catalog.pg_attrdef ad ON ad.oid = d.objid
    JOIN pg_catalog.pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
    WHERE d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
      AND d.refobjid = ${tableOid} AND d.refobjsubid = ${attnum} AND a.attnum <> ${attnum} AND a.attgenerated = 's'
    UNION
    -- Some majors (14 here) record it column to column instead: an 'a' row from the table to itself.
    SELECT 'stored generated column', pg_catalog.quote_ident(a.attname)
    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.objid AND a.attnum = d.objsubid
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = ${tableOid} AND d.objsubid <> 0
      AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid = ${tableOid} AND d.refobjsubid = ${attnum}
      AND a.attgenerated = 's'
    UNION
    SELECT 'owned sequence', s.oid::regclass::text
    FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
    WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
      AND d.refobjid = ${tableOid} AND d.refobjsubid = ${attnum} AND d.deptype = 'a' AND NOT ${sequencesCarried}
    ORDER BY 1, 2`.execute(db);
  if (rows.length === 0) return;
  const names = rows.map((row) => `${row.kind} ${row.name}`).join(', ');
  const kinds = new Set(rows.map((row) => row.kind));
  const fixes = [
    kinds.has('policy') &&
      'rewrite the policies to use the new column after phase 1 (ALTER POLICY … USING (…)), or drop and re-create them',
    kinds.has('trigger') &&
      'change the triggers so they do not name the column (UPDATE OF / WHEN), re-create them on the new column after phase 3',
    kinds.has('statistics object') && 'drop the statistics object and re-create it on the new column after phase 3',
    kinds.has('stored generated column') &&
      'a stored generated column cannot be re-pointed without rewriting the whole table under an ACCESS EXCLUSIVE lock (SET EXPRESSION recomputes every row): drop it and re-create it from the new column in phase 2 (or make it a plain column kept by a trigger), or keep the column name',
    kinds.has('owned sequence') &&
      'detach the sequence first: ALTER SEQUENCE … OWNED BY NONE (phase 3 would drop it with the old column)',
  ].filter(Boolean);
  throw new InputError(`${where} is used by ${names}; phase 3 could not drop it safely`, { hint: fixes.join('; ') });
}

/** PostgreSQL 15+ publications may list columns; a listed column's replacement would never reach subscribers. */
async function refusePublicationColumnLists(
  db: Kysely<any>,
  tableOid: number,
  attnum: number,
  where: string,
): Promise<void> {
  const { rows: version } = await sql<{
    num: number;
  }>`SELECT pg_catalog.current_setting('server_version_num')::int AS num`.execute(db);
  if ((version[0]?.num ?? 0) < 150000) return;
  const { rows } = await sql<{ name: string }>`
    SELECT DISTINCT pg_catalog.quote_ident(p.pubname) AS name
    FROM pg_catalog.pg_publication_rel pr JOIN pg_catalog.pg_publication p ON p.oid OPERATOR(pg_catalog.=) pr.prpubid
    WHERE pr.prrelid OPERATOR(pg_catalog.=) ${tableOid} AND ${attnum}::int2 OPERATOR(pg_catalog.=) ANY (pr.prattrs::int2[])
    ORDER BY 1`.execute(db);
  if (rows.length === 0) return;
  const names = rows.map((row) => row.name).join(', ');
  throw new InputError(
    `${where} is in the column list of publication ${names}; subscribers would never receive the new column`,
    {
      hint: `drop the column list for the duration of the change (ALTER PUBLICATION ${rows[0]!.name} SET TABLE … without columns), make sure subscribers have the new column before phase 1, and list the new column instead after phase 3`,
    },
  );
}

/**
 * PostgreSQL fires BEFORE row triggers in name order; phasectl's `zz_phasectl_sync_…` must come last so it
 * copies the final values. A user trigger sorting after it could change the column after the copy.
 */
async function refuseLateBeforeTriggers(db: Kysely<any>, tableOid: number, tableName: string): Promise<void> {
  const { rows } = await sql<{ name: string }>`
    SELECT t.tgname AS name FROM pg_catalog.pg_trigger t
    WHERE t.tgrelid OPERATOR(pg_catalog.=) ${tableOid} AND NOT t.tgisinternal
      AND (t.tgtype & 1) OPERATOR(pg_catalog.=) 1 AND (t.tgtype & 2) OPERATOR(pg_catalog.=) 2 AND (t.tgtype & (4 | 16)) OPERATOR(pg_catalog.<>) 0
      AND t.tgname::text COLLATE "C" OPERATOR(pg_catalog.>) ${SYNC_TRIGGER_PREFIX} COLLATE "C"
      AND NOT (t.tgname::text OPERATOR(pg_catalog.~) ${SYNC_TRIGGER_NAME_PATTERN})
    ORDER BY 1`.execute(db);
  if (rows.length === 0) return;
  const names = rows.map((row) => displayIdentifier(row.name)).join(', ');
  throw new InputError(
    `${tableName} has BEFORE row trigger ${names}, which fires after phasectl's sync trigger (${SYNC_TRIGGER_PREFIX}…): its changes to the column would not be copied`,
    {
      hint: `rename it so it sorts before "${SYNC_TRIGGER_PREFIX}" (ALTER TRIGGER … ON ${tableName} RENAME TO …)`,
    },
  );
}
