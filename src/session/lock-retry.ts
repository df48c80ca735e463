/** Retrying work that gave way to a lock_timeout (SQLSTATE 55P03): backoff with jitter. */

export interface RetryPolicy {
  /** Give up after this many seconds of retrying (default 60). */
  retryForSeconds: number;
  /** First delay (default 200 ms), doubled each time up to `maxDelayMs` (default 5 s). */
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Delay before retry `attempt` (1-based): exponential, capped, with "equal jitter" (half fixed,
 * half random) so several waiting runners do not retry in lock-step. Pure given `random`.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const initial = policy.initialDelayMs ?? 200;
  const cap = policy.maxDelayMs ?? 5000;
  const base = Math.min(cap, initial * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
