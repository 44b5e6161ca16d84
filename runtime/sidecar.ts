/**
 * Sidecar mode: each secret written to `<dir>/<VARIABLE>` (mode 0400, directory 0700) for an app that
 * reads files, typically from a memory-backed volume shared with a sidecar container that ran first.
 * Every file is replaced atomically (lib/atomic-file.ts: temp file in the same directory, then rename),
 * so the app never reads half a secret, and a re-run replaces the read-only files (a rename needs write
 * access to the directory, not to the file). All files are staged before any is renamed into place, so a
 * failure part-way changes nothing; temp files a killed run left behind are removed first. With
 * `--refresh`, runtime/refresh.ts keeps the files current by calling refreshSecrets on an interval.
 */
import { chmod, lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isStrayTempFile, makeDirectory, stageFile, type StagedFile } from '../lib/atomic-file.ts';
import { KmsSecretsError } from '../lib/errors.ts';
import { envVarName, parseSecretPath } from '../lib/naming.ts';
import { Deadline } from './deadline.ts';
import { duplicateVariables } from './environ.ts';
import { SecretsLoadError } from './failures.ts';
import { loadBucketSecrets, type ListedObjects, type SecretChanges, type SecretClients } from './load.ts';
import type { Selection } from './selection.ts';

const SECRET_FILE_MODE = 0o400;
const SECRET_DIR_MODE = 0o700;

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
    if (failures.length > 0) throw new SecretsLoadError(failures, throttles);
    const paths = await writeFiles(options.dir, loaded);
    return { paths, versions: new Map(loaded.map((secret) => [secret.source, secret.etag])) };
  } finally {
    for (const secret of loaded) secret.value.fill(0);
  }
}

/**
 * One refresh: lists the bucket, fetches and decrypts only the objects whose ETag differs from `versions`
 * (no KMS call when nothing changed), then replaces those files and removes the files of deleted secrets,
 * all or nothing. On any failure nothing changes, so the files stay a consistent set; `versions` is
 * updated to what the directory now holds.
 */
export async function refreshSecrets(options: WriteOptions, clients: SecretClients, versions: ListedObjects): Promise<SecretChanges> {
  const deadline = new Deadline(options.deadlineMs, options.stopped);
  const load = await loadBucketSecrets(options.selection, clients, deadline.signal, {
    fetch: (key, etag) => versions.get(key) !== etag,
  }).finally(() => deadline.clear());
  try {
    if (options.stopped.aborted) throw options.stopped.reason;
    const variableOf = (key: string) => envVarName(parseSecretPath(options.selection.env, key).name);
    const listed = [...load.listed.keys()].map((key) => ({ source: key, variable: variableOf(key) }));
    const failures = [...load.failures, ...duplicateVariables(listed)];
    if (failures.length > 0) throw new SecretsLoadError(failures, load.throttles);
    const removed = [...versions.keys()].filter((key) => !load.listed.has(key));
    await replaceFiles(options.dir, load.loaded, removed.map(variableOf));
    for (const secret of load.loaded) versions.set(secret.source, secret.etag);
    for (const key of removed) versions.delete(key);
    return { changed: load.loaded.map((secret) => secret.source), removed };
  } finally {
    for (const secret of load.loaded) secret.value.fill(0);
  }
}

/** Stages every changed file, then moves them in and removes the files of deleted secrets. */
async function replaceFiles(dir: string, secrets: readonly { readonly variable: string; readonly value: Buffer }[], removed: readonly string[]): Promise<void> {
  const staged: StagedFile[] = [];
  try {
    for (const secret of secrets) staged.push(await stageFile(join(dir, secret.variable), secret.value, { mode: SECRET_FILE_MODE }));
  } catch (error) {
    await Promise.all(staged.map((file) => file.discard()));
    throw new KmsSecretsError(`cannot write the changed secret files in ${dir}, so every file stays as it was: ${(error as Error).message}`);
  }
  for (const file of staged) await file.commit();
  for (const variable of removed) await unlink(join(dir, variable)).catch(() => undefined);
}

async function writeFiles(dir: string, secrets: readonly { readonly variable: string; readonly value: Buffer }[]): Promise<string[]> {
  await prepareDirectory(dir);
  const staged: StagedFile[] = [];
  const committed: string[] = [];
  try {
    for (const secret of secrets) {
      const path = join(dir, secret.variable);
      const existing = await lstat(path).catch(() => undefined);
      if (existing && !existing.isFile()) throw new Error(`${path} exists and is not a file`);
      staged.push(await stageFile(path, secret.value, { mode: SECRET_FILE_MODE }));
    }
    for (const file of staged) {
      await file.commit();
      committed.push(file.path);
    }
    return committed;
  } catch (error) {
    await Promise.all(staged.slice(committed.length).map((file) => file.discard()));
    // Nothing half-done: what this run already moved into place goes too (the app has not started).
    await Promise.all(committed.map((path) => unlink(path).catch(() => undefined)));
    // fs messages name the path and the errno, never the content.
    throw new KmsSecretsError(`cannot write the secret files in ${dir}, so none was written: ${(error as Error).message}`, {
      hint: 'the directory must be writable by this user: run the sidecar as the app\'s user, on a volume that user owns',
    });
  }
}

/** The directory, ours alone (0700), not a symbolic link, and without a killed run's temp files. */
async function prepareDirectory(dir: string): Promise<void> {
  const existing = await lstat(dir).catch(() => undefined);
  if (existing?.isSymbolicLink()) {
    throw new KmsSecretsError(`--dir ${dir} is a symbolic link: the files and the 0700 mode would land wherever it points`, {
      hint: 'give the directory itself (the volume\'s mount point)',
    });
  }
  if (existing && !existing.isDirectory()) throw new KmsSecretsError(`--dir ${dir} exists and is not a directory`);
  try {
    makeDirectory(dir, SECRET_DIR_MODE);
    // A volume's mount point exists before we run, with the volume's mode: make it ours alone.
    await chmod(dir, SECRET_DIR_MODE);
    for (const name of await readdir(dir)) {
      if (isStrayTempFile(name)) await unlink(join(dir, name));
    }
  } catch (error) {
    throw new KmsSecretsError(`cannot prepare ${dir} for the secret files: ${(error as Error).message}`, {
      hint: 'the directory must be writable by this user: run the sidecar as the app\'s user, on a volume that user owns',
    });
  }
}

