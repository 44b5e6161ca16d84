/**
 * Writing a file so that readers see the old content or the new one, never half of either: a temp file
 * in the same directory (same filesystem, so the rename is atomic), fsync, rename, fsync of the directory.
 * Shared by the commands that write ciphertext and the runtime's sidecar that writes secret files.
 *
 * A temp file still in flight when SIGINT, SIGTERM or SIGHUP arrives is removed before the process dies
 * of that signal, so Ctrl-C never leaves a stray file behind.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, statSync, unlinkSync } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

export interface AtomicWriteOptions {
  /** Mode of the new file, set exactly (the umask does not apply). @default 0o644 */
  readonly mode?: number;
  /** Refuse to replace an existing file (EEXIST), atomically: decided by the filesystem at the last step. @default false */
  readonly exclusive?: boolean;
  /** Create the missing folders on the way; when false, a missing folder fails with ENOENT. @default true */
  readonly createDirectory?: boolean;
}

const CLEANUP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const tempFilesInFlight = new Set<string>();

export async function writeFileAtomic(path: string, data: Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const staged = await stageFile(path, data, options);
  try {
    await staged.commit();
  } catch (error) {
    await staged.discard();
    throw error;
  }
}

/** A file written in full next to its place, not yet visible there: commit moves it in, discard removes it. */
export interface StagedFile {
  readonly path: string;
  /** Where it is until commit: for a caller that renames several files itself (runtime/secret-directory.ts). */
  readonly temp: string;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * The first half of writeFileAtomic, for writing several files all or nothing: stage every one, then
 * commit them. Until then the temp file is removed on SIGINT, SIGTERM and SIGHUP, as writeFileAtomic's.
 */
export async function stageFile(path: string, data: Uint8Array, options: AtomicWriteOptions = {}): Promise<StagedFile> {
  const directory = dirname(path);
  if (options.createDirectory ?? true) makeDirectory(directory);
  // A dot-file: `verify` flags it, and the sidecar removes it, if a crash (SIGKILL, power loss) ever leaves one behind.
  const temp = join(directory, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  track(temp);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.chmod(options.mode ?? 0o644);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    untrack(temp);
    throw error;
  }
  return {
    path,
    temp,
    async commit() {
      if (options.exclusive) {
        // link() fails with EEXIST instead of replacing, which rename() cannot do.
        await link(temp, path);
        await unlink(temp);
      } else {
        await rename(temp, path);
      }
      untrack(temp);
      await syncDirectory(directory);
    },
    async discard() {
      await unlink(temp).catch(() => undefined);
      untrack(temp);
    },
  };
}

/** Whether `name` is a temp file of this module: what a crash in the middle of a write leaves behind. */
export function isStrayTempFile(name: string): boolean {
  return /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);
}

/** Makes the rename itself durable: the directory entry lives in the directory's own blocks. */
async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function track(temp: string): void {
  if (tempFilesInFlight.size === 0) for (const signal of CLEANUP_SIGNALS) process.on(signal, removeTempFilesAndDie);
  tempFilesInFlight.add(temp);
}

function untrack(temp: string): void {
  tempFilesInFlight.delete(temp);
  if (tempFilesInFlight.size === 0) for (const signal of CLEANUP_SIGNALS) process.off(signal, removeTempFilesAndDie);
}

function removeTempFilesAndDie(signal: NodeJS.Signals): void {
  for (const temp of tempFilesInFlight) {
    try {
      unlinkSync(temp);
    } catch {
      // already renamed or never created
    }
  }
  tempFilesInFlight.clear();
  for (const other of CLEANUP_SIGNALS) process.off(other, removeTempFilesAndDie);
  // Someone else handles this signal (the runtime forwards signals to its child): leave the decision to them.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/**
 * mkdir -p, one level at a time: Node's own recursive mkdir never returns for some paths it cannot create
 * (`/proc/self/x` spins for ever), where a plain mkdir fails at once with the reason.
 */
export function makeDirectory(dir: string, mode = 0o777): void {
  const missing: string[] = [];
  for (let path = resolve(dir); !statSync(path, { throwIfNoEntry: false }); path = dirname(path)) {
    missing.unshift(path);
    if (dirname(path) === path) break;
  }
  for (const path of missing) mkdirSync(path, { mode });
}
