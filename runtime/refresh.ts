/**
 * The watching modes' shared clock and the sidecar's refresh loop (`write --refresh`). A check lists each
 * service prefix; only what the listing's ETags say changed is fetched and decrypted, so an idle check costs
 * one ListObjectsV2 per service and no KMS call. A failed check keeps the last good files; `--max-stale`
 * ends the sidecar when checks have failed for that long, so a task does not run on old secrets unnoticed.
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { KmsSecretsError } from '../lib/errors.ts';
import { Deadline } from './deadline.ts';
import { describeDuration } from './duration.ts';
import { SecretsLoadError } from './failures.ts';
import { loadBucketSecrets, type ListedObjects, type SecretChanges, type SecretClients } from './load.ts';
import type { Selection } from './selection.ts';
import { refreshSecrets, type WriteOptions, type WrittenSecrets } from './sidecar.ts';

/** Exit code of a sidecar whose files went stale (EX_TEMPFAIL of sysexits.h: try again later). */
export const EXIT_STALE = 75;

/**
 * Waits about `intervalMs`: a random 90–100 % of it, so that a fleet started together does not list the
 * bucket in lockstep, and a change is still seen within one interval. Resolves false when `stopped` fires.
 */
export async function waitInterval(intervalMs: number, stopped: AbortSignal): Promise<boolean> {
  try {
    await sleep(Math.round(intervalMs * (0.9 + 0.1 * Math.random())), undefined, { signal: stopped });
    return true;
  } catch {
    return false;
  }
}

/** The app to tell after a change: the signal, sent to the PID its pid file holds at that moment. */
export interface AppToSignal {
  readonly signal: NodeJS.Signals;
  readonly pidFile: string;
}

export interface RefreshOptions extends WriteOptions {
  readonly intervalMs: number;
  /** Exit EXIT_STALE when no check has succeeded for this long. @default never */
  readonly maxStaleMs?: number;
  readonly notify?: AppToSignal;
  /** A line for stderr (names and causes, never values). */
  readonly note: (line: string) => void;
  /** Says why a check failed; the files stay as they were. */
  readonly reportFailure: (error: unknown) => void;
}

/**
 * Keeps `options.dir` current until `options.stopped` fires (resolves 0) or the files go stale (resolves
 * EXIT_STALE). `written` is what the first write left there, and the directory it prepared: a --dir
 * swapped since (for a symbolic link, another directory) fails every check, and nothing is written through it.
 */
export async function keepRefreshing(options: RefreshOptions, clients: SecretClients, written: WrittenSecrets): Promise<number> {
  let lastGood = Date.now();
  let failedChecks = 0;
  while (await waitInterval(options.intervalMs, options.stopped)) {
    try {
      const { changed, removed } = await refreshSecrets(options, clients, written);
      lastGood = Date.now();
      if (failedChecks > 0) options.note(`refreshed again after ${failedChecks} failed check${failedChecks === 1 ? '' : 's'}`);
      failedChecks = 0;
      if (changed.length + removed.length === 0) continue;
      options.note(`refreshed ${describeChange(changed, removed)}`);
      if (options.notify) await signalApp(options.notify, options.note);
    } catch (error) {
      if (options.stopped.aborted) break;
      failedChecks += 1;
      options.reportFailure(error);
      const staleMs = Date.now() - lastGood;
      options.note(`refresh failed; the files of ${new Date(lastGood).toISOString()} stay in place`);
      if (options.maxStaleMs !== undefined && staleMs >= options.maxStaleMs) {
        options.note(`not refreshed for ${describeDuration(staleMs)}, longer than --max-stale ${describeDuration(options.maxStaleMs)}: exiting`);
        return EXIT_STALE;
      }
    }
  }
  return 0;
}

/**
 * What differs between the bucket and `versions`, from the listing alone (nothing fetched or decrypted):
 * keys changed or added, and keys removed. Throws SecretsLoadError when the listing fails.
 */
export async function bucketChanges(selection: Selection, clients: SecretClients, versions: ListedObjects, deadlineMs: number, stopped: AbortSignal): Promise<SecretChanges> {
  const deadline = new Deadline(deadlineMs, stopped);
  const { listed, failures, throttles } = await loadBucketSecrets(selection, clients, deadline.signal, { fetch: () => false }).finally(() => deadline.clear());
  if (stopped.aborted) throw stopped.reason;
  if (failures.length > 0) throw new SecretsLoadError(failures, throttles, selection);
  return {
    changed: [...listed].filter(([key, etag]) => versions.get(key) !== etag).map(([key]) => key),
    removed: [...versions.keys()].filter((key) => !listed.has(key)),
  };
}

/** `api/a, api/b changed; api/c removed`: names only. */
export function describeChange(changed: readonly string[], removed: readonly string[]): string {
  return [
    changed.length > 0 && `${changed.join(', ')} changed`,
    removed.length > 0 && `${removed.join(', ')} removed`,
  ].filter(Boolean).join('; ');
}

/** Sends the signal to the PID in the pid file; a missing or bad file is said, not fatal: the files are current. */
async function signalApp({ signal, pidFile }: AppToSignal, note: (line: string) => void): Promise<void> {
  try {
    const text = (await readFile(pidFile, 'utf8')).trim();
    const pid = Number(text);
    // Its content is never shown: a --pid-file given by mistake could name a secret's file.
    if (!/^\d+$/.test(text) || pid < 1) throw new KmsSecretsError('it does not hold a process id');
    process.kill(pid, signal);
    note(`sent ${signal} to process ${pid} (from ${pidFile})`);
  } catch (error) {
    const cause = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    note(`cannot send ${signal} to the app named by ${pidFile}: ${cause}; the files are current, the app was not told`);
  }
}
