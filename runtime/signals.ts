/**
 * The signals an orchestrator or a terminal sends to the wrapper. Handlers are installed before anything
 * is loaded: as PID 1 of a container, a process without a handler never receives SIGTERM at all (the
 * kernel drops it), and `docker stop` would wait for its SIGKILL. Before the child exists a stopping
 * signal aborts the start; once it runs, every one of these signals is passed on to it.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { KmsSecretsError } from '../lib/errors.ts';

export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];
/** Before the child runs these stop the start; the others are ignored until there is a child to tell. */
const STOPPING: ReadonlySet<NodeJS.Signals> = new Set(['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT']);

/** A stopping signal arrived while secrets were loading: the command was never started. */
export class StoppedBySignal extends KmsSecretsError {
  constructor(readonly signal: NodeJS.Signals) {
    super(`stopped by ${signal} before the command started`);
  }
}

export class SignalRelay {
  private readonly controller = new AbortController();
  private readonly stoppingController = new AbortController();
  /** Aborted with a StoppedBySignal when a stopping signal arrives before the child runs. */
  readonly stopped: AbortSignal = this.controller.signal;
  /** Aborted by the first stopping signal, before or after the child runs: nothing may start again. */
  readonly stopping: AbortSignal = this.stoppingController.signal;
  private child?: ChildProcess;
  private readonly relay = (signal: NodeJS.Signals): void => {
    if (STOPPING.has(signal) && !this.stopping.aborted) this.stoppingController.abort(new StoppedBySignal(signal));
    if (this.child) this.child.kill(signal);
    else if (STOPPING.has(signal) && !this.stopped.aborted) this.controller.abort(new StoppedBySignal(signal));
  };

  constructor() {
    for (const signal of FORWARDED_SIGNALS) process.on(signal, this.relay);
  }

  forwardTo(child: ChildProcess): void {
    this.child = child;
  }

  dispose(): void {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, this.relay);
  }
}

/** The exit code shells give a process killed by `signal`: 128 + its number (SIGTERM → 143). */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + constants.signals[signal];
}
