/**
 * Runs the command with the prepared environment and stdio inherited. Node has no execve, so the
 * wrapper stays the child's parent: it relays signals and ends with the child's exit code, or 128 + n
 * when the child died of signal n.
 */
import { spawn } from 'node:child_process';
import { KmsSecretsError } from '../lib/errors.ts';
import { signalExitCode, type SignalRelay } from './signals.ts';

/** Exit codes of a command that could not be run, as shells report them. */
export const EXIT_COMMAND_NOT_FOUND = 127;
export const EXIT_COMMAND_NOT_EXECUTABLE = 126;

export class CommandNotStartedError extends KmsSecretsError {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

export function runChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv, relay: SignalRelay): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    relay.forwardTo(child);
    child.once('error', (error: NodeJS.ErrnoException) => {
      // After a successful spawn, errors (a failed kill) do not change how the child ends.
      if (child.pid !== undefined) return;
      reject(error.code === 'ENOENT'
        ? new CommandNotStartedError(`cannot run "${command}": not found (PATH=${env.PATH ?? ''})`, EXIT_COMMAND_NOT_FOUND)
        : new CommandNotStartedError(`cannot run "${command}": ${error.code ?? error.message}`, EXIT_COMMAND_NOT_EXECUTABLE));
    });
    child.once('exit', (code, signal) => resolve(signal ? signalExitCode(signal) : (code ?? 1)));
  });
}
