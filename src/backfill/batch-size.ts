/** Adaptive batch size: aim every batch at a target duration so locks stay short whatever the row width. */

export const MIN_BATCH_SIZE = 100;
export const MAX_BATCH_SIZE = 50_000;

/** Bounds of one adaptation step; the defaults are the engine's historical ×0.5…×2 within [100, 50000]. */
export interface BatchSizeLimits {
  /** Largest factor one fast batch may grow the size by (default 2). */
  maxGrowth?: number;
  /** Largest size (default MAX_BATCH_SIZE). */
  max?: number;
}

/**
 * Next batch size: scaled by target/elapsed, the step clamped to ×0.5…×maxGrowth (no wild swings after
 * one slow or fast batch), the result to [min(100, initial), max]. Pure.
 */
export function nextBatchSize(
  current: number,
  elapsedMs: number,
  targetMs: number,
  initial: number,
  limits: BatchSizeLimits = {},
): number {
  const factor = Math.min(limits.maxGrowth ?? 2, Math.max(0.5, targetMs / Math.max(1, elapsedMs)));
  const floor = Math.min(MIN_BATCH_SIZE, initial);
  return Math.max(floor, Math.min(limits.max ?? MAX_BATCH_SIZE, Math.round(current * factor)));
}
