/**
 * Run `fn` over `items` with at most `limit` calls in flight, in order of
 * the items; the first failure stops new calls and rejects once the
 * running ones have settled, so nothing is left running behind the error.
 */
export async function eachLimit<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failed !== undefined) throw failed;
}
