import type pg from 'pg';

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
