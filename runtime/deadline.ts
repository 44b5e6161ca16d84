/**
 * The overall time limit of one load. Its signal goes into every SDK call, where it stops in-flight
 * requests and the backoff between retries, so a throttled or unreachable endpoint cannot hold a
 * container start for longer than the deadline.
 */
import { setMaxListeners } from 'node:events';

export const DEFAULT_DEADLINE_MS = 30_000;

export class Deadline {
  /** Aborted when the deadline passes, or when `stopped` is; its reason says which. */
  readonly signal: AbortSignal;
  private readonly timer: NodeJS.Timeout;

  constructor(readonly ms: number, stopped?: AbortSignal) {
    const timeout = new AbortController();
    this.timer = setTimeout(() => timeout.abort(new Error(`not loaded within the deadline of ${ms / 1000} s`)), ms);
    // The deadline must never be what keeps the process alive.
    this.timer.unref();
    this.signal = stopped ? AbortSignal.any([timeout.signal, stopped]) : timeout.signal;
    // Every in-flight SDK call listens to the signal: many listeners, bounded by the concurrency limit, are no leak.
    setMaxListeners(0, this.signal);
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}

type Send = (command: unknown, options?: object) => Promise<unknown>;

/**
 * A view of an SDK client whose every call carries `signal`. Methods of aggregated clients (`kms.decrypt`,
 * used by the Encryption SDK) call `this.send`, so they are covered too; config and middleware stay the
 * original client's.
 */
export function withAbortSignal<Client extends object>(client: Client, signal: AbortSignal): Client {
  const send = (client as unknown as { send: Send }).send.bind(client);
  return Object.create(client, {
    send: { value: (command: unknown, options?: object) => send(command, { ...options, abortSignal: signal }) },
  }) as Client;
}
