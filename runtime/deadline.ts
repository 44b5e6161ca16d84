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

/** The parts of an SDK client and command that a call goes through (smithy's public `Client` and `Command`). */
interface SdkClient {
  readonly middlewareStack: unknown;
  readonly config: unknown;
  send(command: SdkCommand, options?: object): Promise<unknown>;
}
interface SdkCommand {
  resolveMiddleware(stack: unknown, config: unknown, options: object): (command: SdkCommand) => Promise<{ output: unknown }>;
}

/**
 * A view of an SDK client whose every call carries `signal`. Methods of aggregated clients (`kms.decrypt`,
 * used by the Encryption SDK) call `this.send`, so they are covered too; config and middleware stay the
 * original client's.
 *
 * The view resolves each command class's middleware stack once, as the SDK's `cacheMiddleware` option
 * does (which caches only calls without options, and the signal is one). As there, calls of one class then
 * share one handler context, the resolved endpoint included: right for a view of one client, whose calls
 * go to one bucket or one region. Resolving the stack for every call was an eighth of the CPU per secret.
 */
export function withAbortSignal<Client extends object>(client: Client, signal: AbortSignal): Client {
  const sdk = client as unknown as SdkClient;
  const handlers = new Map<unknown, ReturnType<SdkCommand['resolveMiddleware']>>();
  const send = (command: SdkCommand, options?: object): Promise<unknown> => {
    if (options !== undefined) return sdk.send(command, { ...options, abortSignal: signal });
    let handler = handlers.get(command.constructor);
    if (!handler) {
      handler = command.resolveMiddleware(sdk.middlewareStack, sdk.config, { abortSignal: signal });
      handlers.set(command.constructor, handler);
    }
    return handler(command).then((result) => result.output);
  };
  return Object.create(client, { send: { value: send } }) as Client;
}
