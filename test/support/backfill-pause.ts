import { expect } from 'vitest';
import { query } from './fixtures-project.js';
import { waitFor } from './guard-state.js';

/**
 * For the throttle tests on the generated project (test/support/fixtures-generated.ts): waits until the backfill of
 * `changeId` has recorded its pause (phasectl.backfill_pauses), then checks that it holds: a while later, still no
 * row of public.users has its new column set.
 */
export async function waitForHeldBackfill(url: string, changeId: string): Promise<void> {
  await waitFor(
    'the pause recorded',
    async () =>
      (
        await query<{ n: number }>(
          url,
          `SELECT count(*)::int AS n FROM phasectl.backfill_pauses WHERE change_id = $1`,
          [changeId],
        ).catch(() => [{ n: 0 }])
      )[0]!.n === 1,
    60_000,
  );
  // Held: no batch runs while paused.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await query(url, `SELECT count(*)::int AS n FROM public.users WHERE favourite_color IS NOT NULL`)).toEqual([
    { n: 0 },
  ]);
}
