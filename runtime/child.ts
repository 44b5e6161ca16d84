/**
 * Runs the command with the prepared environment and stdio inherited, where exec does not replace itself
 * with it (runtime/replace.ts: Node without execve, or as PID 1): the wrapper stays the child's parent, relays
 * signals and ends with the child's exit code, or 128 + n when the child died of signal n.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { KmsSecretsError } from '../lib/errors.ts';
import { signalExitCode, type SignalRelay } from './signals.ts';

/** Exit codes of a command that could not be run, as shells report them. */
export const EXIT_COMMAND_NOT_FOUND = 127;
export const EXIT_COMMAND_NOT_EXECUTABLE = 126;

export class CommandNotStartedError extends KmsSecretsError {
  constructor(message: string, readonly exitCode: number, options: { hint?: string } = {}) {
    super(message, options);
  }
}

export function runChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv, relay: SignalRelay): Promise<number> {
  try {
    return startChild(command, args, env, relay).exited;
  } catch (error) {
    return Promise.reject(error);
  }
}

export interface RunningChild {
  readonly child: ChildProcess;
  /** The child's exit code, or 128 + n when signal n ended it; rejects when it could not be started. */
  readonly exited: Promise<number>;
}

/** Spawns the command with signals relayed to it; throws CommandNotStartedError for a refusal that comes at once. */
export function startChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv, relay: SignalRelay): RunningChild {
  const searchPath = env.PATH;
  let child: ChildProcess;
  try {
    child = spawn(command, args, { stdio: 'inherit', env });
  } catch (error) {
    // Some refusals (E2BIG) come at once, not as an 'error' event.
    throw notStarted(command, searchPath, error as NodeJS.ErrnoException);
  }
  return { child, exited: exitOf(child, command, searchPath, relay) };
}

/** The child's exit code. Nothing here refers to the environment: the wrapper holds no value while the child runs. */
function exitOf(child: ChildProcess, command: string, searchPath: string | undefined, relay: SignalRelay): Promise<number> {
  relay.forwardTo(child);
  return new Promise((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      // After a successful spawn, errors (a failed kill) do not change how the child ends.
      if (child.pid === undefined) reject(notStarted(command, searchPath, error));
    });
    child.once('exit', (code, signal) => resolve(signal ? signalExitCode(signal) : (code ?? 1)));
  });
}

/** Why the command could not be started, as a shell says it: 127 for not found, 126 for anything else. */
export function notStarted(command: string, searchPath: string | undefined, error: Pick<NodeJS.ErrnoException, 'code' | 'message'>): CommandNotStartedError {
  if (error.code === 'ENOENT') return new CommandNotStartedError(`cannot run "${command}": not found (PATH=${searchPath ?? ''})`, EXIT_COMMAND_NOT_FOUND);
  if (error.code === 'E2BIG') return tooLargeToStart(command);
  return new CommandNotStartedError(`cannot run "${command}": ${error.code ?? error.message}`, EXIT_COMMAND_NOT_EXECUTABLE);
}

/** The kernel would refuse the command's environment and arguments together (E2BIG). */
export function tooLargeToStart(command: string): CommandNotStartedError {
  return new CommandNotStartedError(`cannot run "${command}": its environment and arguments together are larger than the kernel allows (E2BIG)`, EXIT_COMMAND_NOT_EXECUTABLE, {
    hint: 'give the largest secrets to the app as files with `kms-secrets write`, or unset variables it does not need',
  });
}
