/**
 * A bound on parallel work: one shared limit for every fetch and decrypt of a load, so 1,000 secrets
 * do not open 1,000 sockets or burst past the account's KMS request quota.
 */
/** Parallel AWS calls of one load: enough to hide latency, far below any request quota. */
export const MAX_PARALLEL_CALLS = 32;

export type Limited = <T>(task: () => Promise<T>) => Promise<T>;

export function concurrencyLimit(limit: number): Limited {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running < limit) running += 1;
    // A finishing task hands its slot straight to the first waiter, so the limit is never exceeded.
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const handOver = waiting.shift();
      if (handOver) handOver();
      else running -= 1;
    }
  };
}
