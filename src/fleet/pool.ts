/**
 * Runs `work` on every item, at most `concurrency` at a time, in list order. With `stopStarting()` returning true
 * (fail-fast, Ctrl-C), no further item starts; those are returned as not started. Never rejects: `work` reports its
 * own failures in its result.
 */
export async function runPool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
  stopStarting: () => boolean = () => false,
): Promise<Array<R | undefined>> {
  const results: Array<R | undefined> = new Array(items.length).fill(undefined);
  let next = 0;
  const worker = async () => {
    while (next < items.length && !stopStarting()) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}
