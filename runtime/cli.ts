/**
 * The runtime's commands, `exec` and `write`, as both `kms-secrets` and the single-file bundle run them:
 * argument parsing, stderr lines (names and causes, never values) and exit codes. stdout belongs to the
 * command, so the wrapper never writes there except for --help.
 */
import { constants } from 'node:os';
import type { ParseArgsConfig } from 'node:util';
import { parseArguments } from '../lib/arguments.ts';
import { awsClients } from '../lib/aws.ts';
import { KmsSecretsError, UsageError } from '../lib/errors.ts';
import { CommandNotStartedError, runChild } from './child.ts';
import { DEFAULT_DEADLINE_MS } from './deadline.ts';
import { describeDuration, parseDuration } from './duration.ts';
import { prepareEnvironment, type PreparedEnvironment } from './exec.ts';
import { replaceWithCommand } from './replace.ts';
import { failureLine, SecretsLoadError } from './failures.ts';
import { EXIT_STALE, keepRefreshing, type AppToSignal } from './refresh.ts';
import { DEFAULT_STOP_TIMEOUT_MS, runRestartingOnChange } from './restart.ts';
import { selectionFrom } from './selection.ts';
import { writeSecrets } from './sidecar.ts';
import { SignalRelay, signalExitCode, StoppedBySignal } from './signals.ts';

/** Options that cannot work: nothing was loaded or started. */
export const EXIT_USAGE = 2;
/** Fail closed: some secret could not be loaded, so the command never started (EX_CONFIG of sysexits.h). */
export const EXIT_NOT_LOADED = 78;

const SELECTION_OPTIONS = {
  bucket: { type: 'string' },
  env: { type: 'string', short: 'e' },
  service: { type: 'string', multiple: true, short: 's' },
  'allow-loader-variable': { type: 'string', multiple: true },
  deadline: { type: 'string' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const SELECTION_HELP = `  --bucket B        the env's secrets bucket (SECRETS_BUCKET)
  --env E           the env, part of every encryption context (SECRETS_ENV)
  --service S       a service whose secrets to load; repeat it or separate with commas (SECRETS_SERVICES)
  --allow-loader-variable V
                    let a secret set loader variable V (NODE_OPTIONS, LD_PRELOAD, …), which is refused
                    otherwise; repeat it or separate with commas (SECRETS_ALLOW_LOADER_VARIABLES)
  --deadline D      give up when not everything is loaded within D (30s, 2m, …; default ${DEFAULT_DEADLINE_MS / 1000}s)
  --verbose         list the variables set (names and sources, never values) on stderr`;

const EXEC_HELP = `usage: kms-secrets exec [options] -- <command> [args…]

Loads every secret of the services, resolves ssm:// and secretsmanager:// values in the environment,
then runs the command with them in its environment. If anything cannot be loaded the command never
starts and the exit code is ${EXIT_NOT_LOADED}; otherwise it is the command's (128+n when signal n killed it).

${SELECTION_HELP}
  --override        let a secret replace a variable already set in the environment (SECRETS_OVERRIDE=1)
  --restart-on-change INTERVAL
                    stay the command's parent and list the bucket every INTERVAL (30s, 5m, …); when a
                    secret changed and everything loads again, stop the command (SIGTERM, then SIGKILL
                    after --stop-timeout) and start it with the new values. A failed reload keeps it running
  --stop-timeout D  how long the command may take to exit after SIGTERM on a restart (default ${DEFAULT_STOP_TIMEOUT_MS / 1000}s)
`;

const WRITE_HELP = `usage: kms-secrets write --dir <dir> [options]

Loads every secret of the services and writes each to <dir>/<VARIABLE> (mode 0400, <dir> 0700),
atomically, then exits 0; if anything cannot be loaded nothing is written and the exit code is ${EXIT_NOT_LOADED}.

  --dir DIR         where to write (a memory-backed volume)
${SELECTION_HELP}
  --refresh INTERVAL
                    keep running and keep the files current: list the bucket every INTERVAL (30s, 5m, …),
                    fetch and decrypt only what changed, replace those files and remove deleted secrets'
                    files. A failed check keeps the last good files. Exits 0 on SIGTERM
  --max-stale D     with --refresh: exit ${EXIT_STALE} when no check has succeeded for D (longer than INTERVAL)
  --signal SIG --pid-file FILE
                    with --refresh: after a change, send SIG (e.g. HUP) to the process whose id FILE holds
`;

export async function execCommand(args: readonly string[]): Promise<number> {
  const separator = args.indexOf('--');
  const own = separator < 0 ? args : args.slice(0, separator);
  const [command, ...commandArgs] = separator < 0 ? [] : args.slice(separator + 1);
  // Installed first: as PID 1, SIGTERM during loading would otherwise be dropped by the kernel.
  const relay = new SignalRelay();
  try {
    const values = parse(own, { ...SELECTION_OPTIONS, ...EXEC_OPTIONS }, EXEC_HELP, separator < 0
      ? 'the command goes after --, e.g. kms-secrets exec --service api -- node server.js'
      : undefined);
    if (values.help) return help(EXEC_HELP);
    if (!command) throw new UsageError('no command to run: put it after --, e.g. kms-secrets exec -- node server.js');
    const options = {
      selection: selectionFrom(values, process.env),
      deadlineMs: deadlineMs(values.deadline),
      override: Boolean(values.override) || ['1', 'true'].includes(process.env.SECRETS_OVERRIDE ?? ''),
      stopped: relay.stopped,
    };
    const restartIntervalMs = optionalDuration('--restart-on-change', values['restart-on-change'], MIN_INTERVAL_MS);
    const stopTimeoutMs = optionalDuration('--stop-timeout', values['stop-timeout'], 0);
    if (stopTimeoutMs !== undefined && restartIntervalMs === undefined) throw new UsageError('--stop-timeout goes with --restart-on-change');
    const clients = awsClients();
    // No variable holds the promise: it would keep the values after `prepared` is dropped. The restart loop keeps its clients.
    let prepared: PreparedEnvironment | undefined = await (restartIntervalMs === undefined
      ? prepareEnvironment(options, clients, process.env).finally(() => clients.destroy())
      : prepareEnvironment(options, clients, process.env));
    if (values.verbose) {
      for (const { variable, source } of prepared.variables) note(`set ${variable} from ${source}`);
      note(`starting ${command} with ${prepared.variables.length} variable${prepared.variables.length === 1 ? '' : 's'} set`);
    }
    if (restartIntervalMs !== undefined) {
      const first = { prepared };
      prepared = undefined;
      const restarting = { ...options, intervalMs: restartIntervalMs, stopTimeoutMs: stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS, note, reportFailure };
      return await runRestartingOnChange(command, commandArgs, first, restarting, clients, relay).finally(() => clients.destroy());
    }
    // Returns only where the command must be spawned instead (no execve, PID 1, a script without #!).
    replaceWithCommand(command, commandArgs, prepared.env, () => {
      relay.dispose();
      if (relay.stopped.aborted) throw relay.stopped.reason;
    });
    const exited = runChild(command, commandArgs, prepared.env, relay);
    // The wrapper stays the child's parent for the child's whole life: it keeps no reference to a value.
    prepared = undefined;
    return await exited;
  } catch (error) {
    return failed(error, 'the command was not started');
  } finally {
    relay.dispose();
  }
}

export async function writeCommand(args: readonly string[]): Promise<number> {
  const relay = new SignalRelay();
  try {
    const values = parse(args, { ...SELECTION_OPTIONS, ...WRITE_OPTIONS }, WRITE_HELP);
    if (values.help) return help(WRITE_HELP);
    if (!values.dir) throw new UsageError('missing --dir <directory>');
    const options = {
      selection: selectionFrom(values, process.env),
      dir: values.dir,
      deadlineMs: deadlineMs(values.deadline),
      stopped: relay.stopped,
    };
    const refresh = refreshOptions(values);
    const clients = awsClients();
    try {
      const written = await writeSecrets(options, clients);
      if (values.verbose) for (const path of written.paths) note(`wrote ${path}`);
      if (!refresh) return 0;
      note(`wrote ${written.paths.length} file${written.paths.length === 1 ? '' : 's'}; checking for changes every ${describeDuration(refresh.intervalMs)}`);
      const code = await keepRefreshing({ ...options, ...refresh, note, reportFailure }, clients, written);
      if (code === 0) note(`stopped by ${(relay.stopped.reason as StoppedBySignal).signal}; the files stay in place`);
      return code;
    } finally {
      clients.destroy();
    }
  } catch (error) {
    return failed(error, 'no file was written');
  } finally {
    relay.dispose();
  }
}

const EXEC_OPTIONS = {
  override: { type: 'boolean' },
  'restart-on-change': { type: 'string' },
  'stop-timeout': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

const WRITE_OPTIONS = {
  dir: { type: 'string' },
  refresh: { type: 'string' },
  'max-stale': { type: 'string' },
  signal: { type: 'string' },
  'pid-file': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** Below this, checks would be a load on the bucket rather than a watch of it. */
const MIN_INTERVAL_MS = 100;

function refreshOptions(values: { refresh?: string; 'max-stale'?: string; signal?: string; 'pid-file'?: string }) {
  const intervalMs = optionalDuration('--refresh', values.refresh, MIN_INTERVAL_MS);
  const maxStaleMs = optionalDuration('--max-stale', values['max-stale'], MIN_INTERVAL_MS);
  const notify = appToSignal(values.signal, values['pid-file']);
  if (intervalMs === undefined && maxStaleMs !== undefined) throw new UsageError('--max-stale goes with --refresh <interval>');
  if (intervalMs === undefined && notify) throw new UsageError('--signal and --pid-file go with --refresh <interval>');
  if (intervalMs === undefined) return undefined;
  // A check comes only every interval, so the files are an interval old when the next one fails: a max-stale
  // within one interval would end the sidecar at its first failed check, whatever it was meant to tolerate.
  if (maxStaleMs !== undefined && maxStaleMs <= intervalMs) {
    throw new UsageError(`--max-stale ${values['max-stale']} must be longer than --refresh ${values.refresh}: checks run ${describeDuration(intervalMs)} apart, `
      + 'so the files are that old already when a check fails, and the first failed check would end the sidecar', {
      hint: `give it room for a few failed checks, e.g. --max-stale ${Math.ceil((intervalMs * 5) / 1000)}s`,
    });
  }
  return { intervalMs, maxStaleMs, notify };
}

function appToSignal(signal: string | undefined, pidFile: string | undefined): AppToSignal | undefined {
  if (signal === undefined && pidFile === undefined) return undefined;
  if (signal === undefined || !pidFile) throw new UsageError('--signal and --pid-file go together: the signal, and the file that holds the app\'s process id');
  const name = (signal.toUpperCase().startsWith('SIG') ? signal.toUpperCase() : `SIG${signal.toUpperCase()}`) as NodeJS.Signals;
  if (!(name in constants.signals)) throw new UsageError(`--signal ${signal} is not a signal name (HUP, USR1, TERM, …)`);
  return { signal: name, pidFile };
}

function optionalDuration(option: string, text: string | undefined, minimumMs: number): number | undefined {
  return text === undefined ? undefined : parseDuration(option, text, minimumMs);
}

function parse<Options extends NonNullable<ParseArgsConfig['options']>>(args: readonly string[], options: Options, usage: string, positionalHint?: string) {
  return parseArguments({ args: [...args], options, strict: true, allowPositionals: false }, usage, positionalHint).values;
}

function deadlineMs(text: string | undefined): number {
  return text === undefined ? DEFAULT_DEADLINE_MS : parseDuration('--deadline', text);
}

/** Says on stderr why a check of the watching modes failed, without a consequence: the caller says it. */
function reportFailure(error: unknown): void {
  if (error instanceof SecretsLoadError) {
    for (const failure of error.failures) note(failureLine(failure));
  } else if (error instanceof KmsSecretsError) {
    note(error.message);
  } else {
    note(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  }
}

/** The exit code for an error, after saying on stderr what happened. */
function failed(error: unknown, consequence: string): number {
  if (error instanceof SecretsLoadError) {
    for (const failure of error.failures) note(failureLine(failure));
    note(`${error.failures.length} secret${error.failures.length === 1 ? '' : 's'} could not be loaded; ${consequence}`);
    for (const why of [error.disagreement, error.throttling]) if (why) note(why);
    if (error.disagreement || error.throttling) process.stderr.write(`hint: ${error.hint}\n`);
    return EXIT_NOT_LOADED;
  }
  if (error instanceof KmsSecretsError) {
    note(error.message);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    if (error instanceof UsageError) return EXIT_USAGE;
    if (error instanceof StoppedBySignal) return signalExitCode(error.signal);
    if (error instanceof CommandNotStartedError) return error.exitCode;
    return EXIT_NOT_LOADED;
  }
  // A bug: keep the stack for the report. Errors never carry values (none is ever put into one).
  note(`unexpected error; ${consequence}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  return EXIT_NOT_LOADED;
}

function help(text: string): number {
  process.stdout.write(text);
  return 0;
}

function note(line: string): void {
  process.stderr.write(`kms-secrets: ${line}\n`);
}
