/**
 * Runs `run` over `items` with at most `concurrency` in flight. On a failure no new item starts,
 * and the first error is thrown once those in flight have settled: nothing is left writing
 * behind the answer.
 */
export const inParallel = async <T>(
  items: readonly T[],
  concurrency: number,
  run: (item: T) => Promise<unknown>,
): Promise<void> => {
  let next = 0;
  let failure: { error: unknown } | null = null;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (failure === null && next < items.length) {
        const item = items[next++]!;
        try {
          await run(item);
        } catch (error) {
          failure ??= { error };
        }
      }
    }),
  );
  if (failure !== null) throw (failure as { error: unknown }).error;
};
