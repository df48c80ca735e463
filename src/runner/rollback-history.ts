import type pg from 'pg';
import { RuntimeFailure } from '../errors.js';

/**
 * When `phasectl rollback` last ran a phase's down files, read from phasectl.history (every file the runner ran).
 * `status` uses it to mark what a rollback made stale: audit figures of a phase rolled back since they were taken,
 * and a verification taken before the last rollback (it describes columns a down file has rewritten since).
 */
export interface Rollback {
  phase: number;
  at: Date;
}

/** The latest down run of each phase of the change; none when no down file ran (or no history table yet). */
export async function readRollbacks(session: pg.ClientBase, changeId: string): Promise<Rollback[]> {
  const exists = await session.query<{ present: boolean }>(
    `SELECT pg_catalog.to_regclass('phasectl.history') IS NOT NULL AS present`,
  );
  if (!exists.rows[0]?.present) return [];
  const { rows } = await session.query<{ phase: number; at: Date }>(
    `SELECT phase, max(ran_at) AS at FROM phasectl.history
      WHERE change_id = $1 AND direction = 'down' AND phase IS NOT NULL GROUP BY phase ORDER BY phase`,
    [changeId],
  );
  return rows.map((row) => ({ phase: Number(row.phase), at: row.at }));
}

/**
 * The rollback that made a record taken at `takenAt` stale, if any: the latest one after it of `phase` or of an
 * earlier phase (rolling back phase 2 undoes phase 3 too), or of any phase when `phase` is undefined. Pure.
 */
export function staleBy(rollbacks: readonly Rollback[], takenAt: Date, phase?: number): Rollback | undefined {
  return rollbacks
    .filter((rollback) => (phase === undefined || rollback.phase <= phase) && rollback.at > takenAt)
    .reduce<Rollback | undefined>(
      (latest, rollback) => (!latest || rollback.at > latest.at ? rollback : latest),
      undefined,
    );
}

/** A rollback that stopped half-way: some down files of a phase ran after its up files were (last) applied. */
export interface HalfRollback {
  changeId: string;
  phase: number;
  release: string | null;
  downs: string[];
}

/**
 * The phases whose up files are still recorded in phasectl.migrations although down files of the same change and
 * phase ran after the last of them was applied: a `phasectl rollback` that failed on a down file (a view the team
 * created on the new column, …) or was stopped between two. Its up files only leave phasectl.migrations once every
 * down file of the phase ran, so the database is then neither at that phase nor before it (phase 1's index and
 * constraint copies dropped, say) while the records say the phase is whole: `migrate` would go on from there and
 * never build them again. None when there is no history table yet.
 */
export async function readHalfRollbacks(session: pg.ClientBase): Promise<HalfRollback[]> {
  const exists = await session.query<{ present: boolean }>(
    `SELECT pg_catalog.to_regclass('phasectl.history') IS NOT NULL AND pg_catalog.to_regclass('phasectl.migrations') IS NOT NULL AS present`,
  );
  if (!exists.rows[0]?.present) return [];
  const { rows } = await session.query<{ change_id: string; phase: number; release: string | null; downs: string[] }>(
    `SELECT h.change_id, h.phase, max(h.release) AS release, pg_catalog.array_agg(DISTINCT h.name ORDER BY h.name) AS downs
       FROM phasectl.history AS h
       JOIN (SELECT m.change_id, m.phase, max(m.applied_at) AS applied_at FROM phasectl.migrations AS m
              WHERE m.direction = 'up' AND m.change_id IS NOT NULL GROUP BY m.change_id, m.phase) AS up
         ON up.change_id = h.change_id AND up.phase = h.phase
      WHERE h.direction = 'down' AND h.ran_at > up.applied_at
      GROUP BY h.change_id, h.phase ORDER BY h.change_id, h.phase`,
  );
  return rows.map((row) => ({
    changeId: row.change_id,
    phase: Number(row.phase),
    release: row.release,
    downs: row.downs,
  }));
}

/** Refuses (exit 3, nothing run) to go forward while a rollback stopped half-way (readHalfRollbacks). */
export async function refuseHalfRollback(session: pg.ClientBase): Promise<void> {
  const half = await readHalfRollbacks(session);
  const first = half[0];
  if (!first) return;
  const list = half
    .map((rollback) => `phase ${rollback.phase} of ${rollback.changeId} (ran: ${rollback.downs.join(', ')})`)
    .join('; ');
  const releases = [...new Set(half.map((rollback) => rollback.release ?? '<release>'))];
  throw new RuntimeFailure(
    `a rollback stopped half-way: ${list}; the rest of its down files did not run, so the database is neither at that phase nor before it, and going forward would skip what the down files undid`,
    {
      hint: `finish the rollback first (fix what stopped it, then \`phasectl rollback --release ${releases.join('` and `--release ')}\`: down files are safe to re-run), then \`phasectl migrate\``,
    },
  );
}
