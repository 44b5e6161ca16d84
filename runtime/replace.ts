/**
 * Becoming the command: where Node has `process.execve` (≥ 22.15 / 23.11), exec replaces itself with the
 * command, as chamber and berglas do. Same PID, the command receives signals directly, its exit status is
 * the container's, and nothing of the runtime — its memory, the plaintext it loaded — stays resident.
 *
 * A failed execve aborts Node (it cannot be caught), so everything execve could refuse is checked first:
 * the command is found on PATH and executable, it is a program the kernel runs itself (ELF, or `#!` with an
 * executable interpreter), and the environment fits the kernel's limit. Anything else — a script without
 * `#!`, which execvp would hand to /bin/sh — is left to the spawn path, which reports it as a shell does.
 *
 * As PID 1 the runtime does not replace itself: the kernel drops every signal PID 1 has no handler for, so
 * an app that never expected to be PID 1 would ignore `docker stop`. There the runtime stays the app's
 * parent and relays signals; with an init as PID 1 (ECS `initProcessEnabled`, `docker run --init`) it execs.
 */
import { accessSync, closeSync, constants, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { notStarted, tooLargeToStart } from './child.ts';

type Execve = (file: string, args: readonly string[], env: Record<string, string>) => never;

/** Linux's bounds on the space for arguments and environment (fs/exec.c): a quarter of the stack limit, within these. */
const MIN_ARGUMENT_SPACE = 128 * 1024;
const MAX_ARGUMENT_SPACE = 6 * 1024 * 1024;
const POINTER_BYTES = 8;

function execveOfThisNode(): Execve | undefined {
  const execve = (process as { execve?: Execve }).execve;
  return typeof execve === 'function' ? execve : undefined;
}

/** Whether exec becomes the command with this runtime (unless it is PID 1). */
export function replacesItself(): boolean {
  return execveOfThisNode() !== undefined;
}

/**
 * Replaces this process with the command, or returns when the spawn path must run it instead. Throws
 * CommandNotStartedError (exit 127/126) for what a shell would refuse, as the spawn path does.
 */
export function replaceWithCommand(command: string, args: readonly string[], env: NodeJS.ProcessEnv, beforeExec: () => void): void {
  const execve = execveOfThisNode();
  if (!execve || process.pid === 1) return;
  const file = findExecutable(command, env);
  if (!runsByItself(file)) return;
  const environment = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined));
  const argv = [command, ...args];
  if (argumentBytes(file, argv, environment) > argumentSpace()) throw tooLargeToStart(command);
  beforeExec();
  restoreSignalDefaults();
  // The experimental-feature warning would be the only thing the runtime ever printed on success.
  process.removeAllListeners('warning');
  execve(file, argv, environment);
}

/** The file execvp would run: `command` itself when it has a "/", else the first executable match on PATH. */
function findExecutable(command: string, env: NodeJS.ProcessEnv): string {
  const candidates = command.includes('/') ? [command] : (env.PATH ?? '').split(':').map((dir) => join(dir || '.', command));
  let foundButNotExecutable = false;
  for (const candidate of candidates) {
    if (!isFile(candidate)) continue;
    if (executable(candidate)) return isAbsolute(candidate) ? candidate : join(process.cwd(), candidate);
    foundButNotExecutable = true;
  }
  throw notStarted(command, env.PATH, { code: foundButNotExecutable ? 'EACCES' : 'ENOENT', message: '' });
}

/** An ELF binary, or a script whose `#!` interpreter exists and is executable: what execve runs without a shell. */
function runsByItself(file: string): boolean {
  const head = readHead(file, 256);
  if (!head) return false;
  if (head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) return true;
  if (head.subarray(0, 2).toString('latin1') !== '#!') return false;
  const interpreter = /^#!\s*(\S+)/.exec(head.toString('latin1'))?.[1];
  return interpreter !== undefined && isAbsolute(interpreter) && isFile(interpreter) && executable(interpreter);
}

/** What the kernel counts against the argument space: every string with its NUL, and a pointer to each. */
function argumentBytes(file: string, argv: readonly string[], environment: Record<string, string>): number {
  const strings = [file, ...argv, ...Object.entries(environment).map(([name, value]) => `${name}=${value}`)];
  return strings.reduce((total, text) => total + Buffer.byteLength(text) + 1 + POINTER_BYTES, 2 * POINTER_BYTES);
}

function argumentSpace(): number {
  const stack = /^Max stack size\s+(\d+|unlimited)/m.exec(readLimits())?.[1];
  const quarter = stack === undefined || stack === 'unlimited' ? MAX_ARGUMENT_SPACE : Number(stack) / 4;
  return Math.max(MIN_ARGUMENT_SPACE, Math.min(MAX_ARGUMENT_SPACE, quarter));
}

function readLimits(): string {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Node ignores SIGPIPE and SIGXFSZ, and execve keeps ignored signals ignored: the command would never die of
 * a closed pipe as programs expect (`yes | head`). Listening and no longer listening puts back the default.
 */
function restoreSignalDefaults(): void {
  for (const signal of ['SIGPIPE', 'SIGXFSZ'] as const) {
    const ignore = () => {};
    process.on(signal, ignore);
    process.off(signal, ignore);
  }
}

/** The file's first bytes, or undefined when this user may run it but not read it. */
function readHead(file: string, bytes: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buffer = Buffer.alloc(bytes);
    return buffer.subarray(0, readSync(fd, buffer, 0, bytes, 0));
  } finally {
    closeSync(fd);
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
