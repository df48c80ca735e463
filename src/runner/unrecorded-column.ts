import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';
import { qualify, quoteIdent } from '../render/quote.js';
import { displayColumn } from '../spec/identifiers.js';
import type { Change } from '../spec/types.js';
import { SYNC_TRIGGER_NAME_PATTERN, syncTriggerNames } from '../operations/naming.js';
import { appliedPhase } from './record.js';

/**
 * Before a rename's phase 1 runs: its new column must not already hold values. It does when this database lost
 * phasectl's records of a change in flight (`DROP SCHEMA phasectl CASCADE` as a clean-up: the sync triggers went
 * with it, while the application kept writing the new column) or when a team migration added the column by hand.
 * Phase 1 would then keep the column (`ADD COLUMN IF NOT EXISTS`) and its backfill would overwrite every value that
 * differs from the old column's, the application's writes included. An empty column loses nothing: it goes on.
 */
export async function refuseUnrecordedNewColumn(session: pg.ClientBase, change: Change): Promise<void> {
  if (change.kind !== 'rename') return; // a move may target a column that existed before (recorded at plan)
  const { schema, table, from, to } = change.rename;
  const exists = await session.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                     WHERE a.attrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
                       AND a.attname OPERATOR(pg_catalog.=) $2 AND NOT a.attisdropped) AS ok`,
    [qualify(schema, table), to],
  );
  if (!exists.rows[0]?.ok) return;
  await refuseForeignSyncTriggers(session, change);
  const filled = await session.query<{ ok: boolean }>(
    `SELECT EXISTS (SELECT FROM ${qualify(schema, table)} WHERE ${quoteIdent(to)} IS NOT NULL) AS ok`,
  );
  if (!filled.rows[0]?.ok) return;
  const column = displayColumn(schema, table, to);
  // Applied by another runner (psql, kysely, db-migrate): the files keep phasectl.changes themselves, in the
  // transaction that installs the sync (expand) or moves the authority (switch), but not phasectl.migrations.
  const recorded = await appliedPhase(session, change.id);
  // Phase 1 again is what phase 1 did: the same authority (the old column), idempotent files, a backfill that rewrites
  // only rows the sync missed, from the old column. Nothing the application wrote is lost.
  if (recorded === 1) return;
  if (recorded >= 2) {
    throw new RuntimeFailure(
      `${change.id} is at phase ${recorded} in this database (phasectl.changes), applied by another runner: phasectl.migrations lists none of its phase-1 files, so phasectl would run phase 1 again and give ${from} back the authority over ${to}`,
      {
        hint: `apply the rest of ${change.id} with the runner that applied its phases so far (its files guard themselves), or record the up files it applied in phasectl.migrations before running \`phasectl migrate\``,
      },
    );
  }
  throw new RuntimeFailure(
    `${column} already exists and holds values, but this database has no record of phase 1 of ${change.id} (the phasectl schema was dropped, or the column was added by hand): phase 1's backfill would overwrite them with ${from}'s`,
    {
      hint: `keep what the application wrote there: copy it into ${from} where it is newer (UPDATE ${qualify(schema, table)} SET ${quoteIdent(from)} = ${quoteIdent(to)} WHERE …), then drop ${to} (ALTER TABLE ${qualify(schema, table)} DROP COLUMN ${quoteIdent(to)}) and run \`phasectl migrate\` again: it applies the change's phases from phase 1`,
    },
  );
}

/**
 * Sync triggers of another change on the same columns: most often the change's own, under the id it had before
 * someone renamed it in phases.yaml. A second set of triggers would sync the columns with its own authority.
 */
async function refuseForeignSyncTriggers(session: pg.ClientBase, change: Change & { kind: 'rename' }): Promise<void> {
  const { schema, table, from, to } = change.rename;
  const own = Object.values(syncTriggerNames(change.id, change.rename.syncTrigger));
  const { rows } = await session.query<{ trigger: string }>(
    `SELECT DISTINCT t.tgname::pg_catalog.text AS trigger
       FROM pg_catalog.pg_trigger t
       JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass
                                  AND d.objid OPERATOR(pg_catalog.=) t.oid
                                  AND d.refobjid OPERATOR(pg_catalog.=) t.tgrelid
       JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) t.tgrelid AND a.attnum OPERATOR(pg_catalog.=) d.refobjsubid
      WHERE t.tgrelid OPERATOR(pg_catalog.=) pg_catalog.to_regclass($1)
        AND t.tgname::pg_catalog.text OPERATOR(pg_catalog.~) $2
        AND a.attname OPERATOR(pg_catalog.=) ANY ($3::pg_catalog.name[])
        AND NOT (t.tgname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ($4::pg_catalog.text[]))
      ORDER BY 1`,
    [qualify(schema, table), SYNC_TRIGGER_NAME_PATTERN, [from, to], own],
  );
  if (rows.length === 0) return;
  throw new RuntimeFailure(
    `${displayColumn(schema, table, from)} and ${to} are already kept in sync by another change's trigger (${rows.map((row) => row.trigger).join(', ')}), but this database has no record of ${change.id}: was the change's id renamed in phases.yaml?`,
    {
      hint: 'the id of a change in flight never changes (its objects and records carry it): put the old id back in phases.yaml, run `phasectl generate`, then `phasectl migrate` again',
    },
  );
}
