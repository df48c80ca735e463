/**
 * SQL that runs `sql` behind phasectl's sync triggers, the way a bulk tool, a restore or a hand-made divergence can:
 * in one transaction, every ENABLE ALWAYS trigger (only the sync triggers are) is made an ordinary one, `sql` runs
 * under session_replication_role = replica (which skips ordinary triggers), and the triggers are made ALWAYS again.
 * Other sessions never see the triggers off: the change and its undo commit together. The sync triggers fire under
 * replica on purpose (rows a logical-replication subscription applies must be synced), so plain
 * `SET session_replication_role = replica` no longer bypasses them.
 */
export function behindSyncTriggers(sql: string): string {
  const each = (action: string) => `DO $phasectl_test$ DECLARE s record; BEGIN
  FOR s IN SELECT * FROM pg_temp.phasectl_test_always LOOP
    EXECUTE format('ALTER TABLE %s ${action} TRIGGER %I', s.rel, s.name);
  END LOOP;
END $phasectl_test$;`;
  return `BEGIN;
CREATE TEMP TABLE phasectl_test_always ON COMMIT DROP AS
  SELECT t.tgrelid::regclass::text AS rel, t.tgname::text AS name FROM pg_catalog.pg_trigger t
  WHERE t.tgenabled = 'A' AND t.tgparentid = 0;
${each('ENABLE')}
SET LOCAL session_replication_role = replica;
${sql};
SET LOCAL session_replication_role = origin;
${each('ENABLE ALWAYS')}
COMMIT;`;
}
