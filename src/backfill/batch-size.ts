/** Adaptive batch size: aim every batch at a target duration so locks stay short whatever the row width. */

export const MIN_BATCH_SIZE = 100;
export const MAX_BATCH_SIZE = 50_000;

/**
 * Next batch size: scaled by target/elapsed, the step clamped to ×0.5…×2 (no wild swings after one
 * slow batch), the result to [min(100, initial), 50000]. Pure.
 */
export function nextBatchSize(current: number, elapsedMs: number, targetMs: number, initial: number): number {
  const factor = Math.min(2, Math.max(0.5, targetMs / Math.max(1, elapsedMs)));
  const floor = Math.min(MIN_BATCH_SIZE, initial);
  return Math.max(floor, Math.min(MAX_BATCH_SIZE, Math.round(current * factor)));
}
