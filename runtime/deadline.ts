/**
 * The overall time limit of one load. Its signal goes into every SDK call, where it stops in-flight
 * requests and the backoff between retries, so a throttled or unreachable endpoint cannot hold a
 * container start for longer than the deadline.
 */
import { isThrottlingError } from '@smithy/core/retry';
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
interface MiddlewareStack {
  clone(): MiddlewareStack;
  add(middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>, options: object): void;
}
interface SdkClient {
  readonly middlewareStack: MiddlewareStack;
  readonly config: unknown;
}
interface SdkCommand {
  resolveMiddleware(stack: MiddlewareStack, config: unknown, options: object): (command: SdkCommand) => Promise<{ output: unknown }>;
}

/** Told of every attempt of every call, retries included: whether AWS answered it with a throttle. */
export type AttemptObserver = (throttled: boolean) => void;

/**
 * A view of an SDK client whose every call carries `signal`, and whose every attempt is reported to
 * `onAttempt` when given. Methods of aggregated clients (`kms.decrypt`, used by the Encryption SDK) call
 * `this.send`, so they are covered too; config stays the original client's.
 *
 * The view resolves each command class's middleware stack once, as the SDK's `cacheMiddleware` option
 * does (which caches only calls without options, and the signal is one). As there, calls of one class then
 * share one handler context, the resolved endpoint included: right for a view of one client, whose calls
 * go to one bucket or one region. Resolving the stack for every call was an eighth of the CPU per secret.
 */
export function withAbortSignal<Client extends object>(client: Client, signal: AbortSignal, onAttempt?: AttemptObserver): Client {
  const sdk = client as unknown as SdkClient;
  const stack = onAttempt ? observingAttempts(sdk.middlewareStack, onAttempt) : sdk.middlewareStack;
  const handlers = new Map<unknown, ReturnType<SdkCommand['resolveMiddleware']>>();
  const send = (command: SdkCommand, options?: object): Promise<unknown> => {
    let handler = options === undefined ? handlers.get(command.constructor) : undefined;
    if (!handler) {
      handler = command.resolveMiddleware(stack, sdk.config, { ...options, abortSignal: signal });
      if (options === undefined) handlers.set(command.constructor, handler);
    }
    return handler(command).then((result) => result.output);
  };
  return Object.create(client, { send: { value: send } }) as Client;
}

/**
 * A copy of the client's middleware with one more step inside the retry loop (the SDK's retries run at
 * `finalizeRequest`, priority high; this runs at low, after the answer is parsed), so it sees each attempt.
 */
function observingAttempts(stack: MiddlewareStack, onAttempt: AttemptObserver): MiddlewareStack {
  const observed = stack.clone();
  observed.add((next) => async (args) => {
    try {
      const result = await next(args);
      onAttempt(false);
      return result;
    } catch (error) {
      onAttempt(isThrottlingError(error as Parameters<typeof isThrottlingError>[0]));
      throw error;
    }
  }, { step: 'finalizeRequest', priority: 'low', name: 'kmsSecretsAttemptObserver' });
  return observed;
}
