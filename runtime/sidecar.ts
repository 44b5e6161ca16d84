/**
 * Sidecar mode: each secret written to `<dir>/<VARIABLE>` (mode 0400, directory 0700) for an app that
 * reads files, typically from a memory-backed volume shared with a sidecar container that ran first.
 * runtime/secret-directory.ts owns the directory: every file is replaced by a rename, so the app never reads
 * half a secret, and a re-run replaces the read-only files (a rename needs write access to the directory,
 * not to the file); each write is all or nothing; `--dir` is held to the directory prepared at the start.
 * With `--refresh`, runtime/refresh.ts keeps the files current by calling refreshSecrets on an interval.
 */
import { envVarName, parseSecretPath } from '../lib/naming.ts';
import { Deadline } from './deadline.ts';
import { duplicateVariables } from './environ.ts';
import { SecretsLoadError } from './failures.ts';
import { loadBucketSecrets, type ListedObjects, type SecretChanges, type SecretClients } from './load.ts';
import { SecretDirectory } from './secret-directory.ts';
import type { Selection } from './selection.ts';

export interface WriteOptions {
  readonly selection: Selection;
  readonly dir: string;
  readonly deadlineMs: number;
  /** Aborted (with its reason as the error) when the run must stop, e.g. on SIGTERM. */
  readonly stopped: AbortSignal;
}

export interface WrittenSecrets {
  readonly paths: string[];
  /** Object key → ETag of what was written: what a refresh compares the bucket's listing with. */
  readonly versions: ListedObjects;
  /** The directory prepared, held to its identity: where a refresh writes. */
  readonly directory: SecretDirectory;
}

/**
 * Loads every secret of the selection, then writes them all. When any secret cannot be loaded, nothing is
 * written. Values are written as they are, so binary secrets work here.
 */
export async function writeSecrets(options: WriteOptions, clients: SecretClients): Promise<WrittenSecrets> {
  const deadline = new Deadline(options.deadlineMs, options.stopped);
  const { loaded, failures, throttles } = await loadBucketSecrets(options.selection, clients, deadline.signal).finally(() => deadline.clear());
  try {
    if (options.stopped.aborted) throw options.stopped.reason;
    failures.push(...duplicateVariables(loaded));
    if (failures.length > 0) throw new SecretsLoadError(failures, throttles, options.selection);
    const directory = await SecretDirectory.prepare(options.dir);
    const paths = await directory.replace(loaded);
    return { paths, versions: new Map(loaded.map((secret) => [secret.source, secret.etag])), directory };
  } finally {
    for (const secret of loaded) secret.value.fill(0);
  }
}

/**
 * One refresh: lists the bucket, fetches and decrypts only the objects whose ETag differs from `versions`
 * (no KMS call when nothing changed), then replaces those files and removes the files of deleted secrets,
 * all or nothing (SecretDirectory.replace). On any failure nothing changes, so the files stay a consistent
 * set; `versions` is updated to what the directory now holds.
 */
export async function refreshSecrets(options: WriteOptions, clients: SecretClients, { versions, directory }: Pick<WrittenSecrets, 'versions' | 'directory'>): Promise<SecretChanges> {
  const deadline = new Deadline(options.deadlineMs, options.stopped);
  const load = await loadBucketSecrets(options.selection, clients, deadline.signal, {
    fetch: (key, etag) => versions.get(key) !== etag,
  }).finally(() => deadline.clear());
  try {
    if (options.stopped.aborted) throw options.stopped.reason;
    const variableOf = (key: string) => envVarName(parseSecretPath(options.selection.env, key).name);
    const listed = [...load.listed.keys()].map((key) => ({ source: key, variable: variableOf(key) }));
    const failures = [...load.failures, ...duplicateVariables(listed)];
    if (failures.length > 0) throw new SecretsLoadError(failures, load.throttles, options.selection);
    const removed = [...versions.keys()].filter((key) => !load.listed.has(key));
    await directory.replace(load.loaded, removed.map(variableOf));
    for (const secret of load.loaded) versions.set(secret.source, secret.etag);
    for (const key of removed) versions.delete(key);
    return { changed: load.loaded.map((secret) => secret.source), removed };
  } finally {
    for (const secret of load.loaded) secret.value.fill(0);
  }
}
