/**
 * `exec --restart-on-change`: the runtime stays the app's parent and checks the bucket on an interval (a
 * listing: no fetch, no KMS call while nothing changed). On a change it loads everything again, as a start
 * does; only when that succeeds is the app stopped gracefully (SIGTERM, a grace period, then SIGKILL) and
 * started again with the new environment. A failed reload keeps the running app. The runtime holds no value
 * while the app runs: it keeps the ETags it compares, and loads the values anew for each restart.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AwsClients } from '../lib/aws.ts';
import { startChild } from './child.ts';
import { prepareEnvironment, type PrepareOptions, type PreparedEnvironment } from './exec.ts';
import type { ListedObjects } from './load.ts';
import { bucketChanges, describeChange, waitInterval } from './refresh.ts';
import type { SignalRelay } from './signals.ts';

export const DEFAULT_STOP_TIMEOUT_MS = 10_000;

export interface RestartOptions extends PrepareOptions {
  readonly intervalMs: number;
  /** How long the app may take to exit after SIGTERM before it gets SIGKILL. */
  readonly stopTimeoutMs: number;
  readonly note: (line: string) => void;
  /** Says why a check or a reload failed; the app keeps running. */
  readonly reportFailure: (error: unknown) => void;
}

/**
 * Runs the command with `first`'s environment, restarting it whenever the bucket's secrets change, until it
 * exits on its own or a stopping signal ends it; resolves to its last exit code.
 */
export async function runRestartingOnChange(
  command: string, args: readonly string[], first: { prepared?: PreparedEnvironment }, options: RestartOptions, clients: AwsClients, relay: SignalRelay,
): Promise<number> {
  let versions: ListedObjects = first.prepared!.versions;
  let running = startChild(command, args, first.prepared!.env, relay);
  // From here on the environment lives in the child alone.
  first.prepared = undefined;
  for (;;) {
    const checkDue = new AbortController();
    const next = await Promise.race([
      running.exited.then((code) => ({ exited: code })),
      waitInterval(options.intervalMs, AbortSignal.any([relay.stopping, checkDue.signal])).then(() => ({ exited: undefined })),
    ]);
    checkDue.abort();
    if (next.exited !== undefined) return next.exited;
    // A stopping signal was passed on to the app: wait for it to end, and start nothing again.
    if (relay.stopping.aborted) return running.exited;

    const reloaded = await reloadIfChanged(versions, options, clients, relay);
    if (!reloaded) continue;
    // The app ended on its own while the secrets loaded: that is its exit, not a restart.
    if (running.child.exitCode !== null || running.child.signalCode !== null) return running.exited;
    options.note(`restarting ${command}: ${reloaded.change}`);
    const code = await stopGracefully(running.child, running.exited, options.stopTimeoutMs);
    if (relay.stopping.aborted) return code;
    versions = reloaded.prepared.versions;
    running = startChild(command, args, reloaded.prepared.env, relay);
  }
}

/** The new environment when the bucket changed and everything loads again; undefined otherwise (said on stderr). */
async function reloadIfChanged(versions: ListedObjects, options: RestartOptions, clients: AwsClients, relay: SignalRelay) {
  const reload = { ...options, stopped: relay.stopping };
  try {
    const { changed, removed } = await bucketChanges(options.selection, clients, versions, options.deadlineMs, relay.stopping);
    if (changed.length + removed.length === 0) return undefined;
    const prepared = await prepareEnvironment(reload, clients, process.env);
    return { prepared, change: describeChange(changed, removed) };
  } catch (error) {
    if (relay.stopping.aborted) return undefined;
    options.reportFailure(error);
    options.note('reload failed; the app keeps running with the values it started with');
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves to the app's exit code. */
async function stopGracefully(child: ChildProcess, exited: Promise<number>, timeoutMs: number): Promise<number> {
  child.kill('SIGTERM');
  const grace = new AbortController();
  const killed = sleep(timeoutMs, undefined, { signal: grace.signal }).then(() => child.kill('SIGKILL'), () => undefined);
  try {
    return await exited;
  } finally {
    grace.abort();
    await killed;
  }
}
