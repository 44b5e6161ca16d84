/**
 * A bound on parallel work: one shared limit for every fetch and decrypt of a load, so 1,000 secrets
 * do not open 1,000 sockets or burst past the account's KMS request quota.
 */
/**
 * Parallel AWS calls of one load. It was 32: a fleet starting at once then opened with 32 Decrypts per task,
 * and under the shared KMS quota most of that burst came back throttled. With 8, the fleet benchmark made
 * 1.2 KMS calls per secret instead of 1.5. The price is latency for a lone task with many secrets: a third
 * of a second for 100 secrets at 20 ms per request. Widening while nothing throttles was tried: real
 * processes, which start apart, widened before the quota ran out (docs/benchmarks.md, "Capacity planning").
 */
export const MAX_PARALLEL_CALLS = 8;

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
