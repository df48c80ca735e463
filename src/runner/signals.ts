/**
 * SIGINT/SIGTERM → an AbortSignal the runner and the backfill check between batches: the current
 * batch commits, progress is saved, then the command exits 130 (SIGINT) or 143 (SIGTERM).
 */
export function abortOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onInt = () => controller.abort('SIGINT');
  const onTerm = () => controller.abort('SIGTERM');
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
