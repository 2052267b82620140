/**
 * Runs `run` over `items` with at most `concurrency` in flight: enough to fill a local engine
 * quickly without queueing thousands of requests on one socket pool.
 */
export const forEachInParallel = async <T>(
  items: readonly T[],
  concurrency: number,
  run: (item: T, index: number) => Promise<unknown>,
): Promise<void> => {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await run(items[index]!, index);
      }
    }),
  );
};
