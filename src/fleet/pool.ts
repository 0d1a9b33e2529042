/**
 * Runs `work` over `items`, at most `parallel` at once, taking items in list order. Once
 * `stopped()` is true no further item starts (running ones finish). Results are in input order;
 * an item never started has `undefined`. `work` must not reject for expected failures.
 */
export async function runPool<T, R>(
  items: T[],
  parallel: number,
  work: (item: T, worker: number) => Promise<R>,
  stopped: () => boolean = () => false,
): Promise<(R | undefined)[]> {
  const results: (R | undefined)[] = new Array(items.length).fill(undefined);
  let next = 0;
  const worker = async (w: number) => {
    while (next < items.length && !stopped()) {
      const i = next++;
      results[i] = await work(items[i]!, w);
    }
  };
  const workers = Math.max(1, Math.min(parallel, items.length));
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return results;
}
