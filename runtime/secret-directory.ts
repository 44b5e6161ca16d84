/**
 * The sidecar's `--dir`: made ours alone (0700) once, then held to that very directory, and its secret files
 * replaced as a set, all or nothing.
 *
 * Node has no openat(), so files are written by path. The directory's identity (device and inode) is read at
 * the start from a handle opened without following a link; before a check writes anything, and before every
 * rename, the path must still name that directory with no link at its last component, or nothing is written
 * there. What remains is the window of one system call after a check: a swap that lands exactly between the
 * check and the staging of a temp file puts that file (mode 0400, this user's) wherever the link points,
 * until the check before its rename refuses and removes it. A rename itself never moves a file through a
 * link swapped in after its check: its temp file is not where the link points, so it fails.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isStrayTempFile, makeDirectory, stageFile, type StagedFile } from '../lib/atomic-file.ts';
import { KmsSecretsError } from '../lib/errors.ts';

const SECRET_FILE_MODE = 0o400;
const SECRET_DIR_MODE = 0o700;
const WRITABLE_HINT = 'the directory must be writable by this user: run the sidecar as the app\'s user, on a volume that user owns';

/** A secret's file: `<dir>/<variable>` holds `value`. */
export interface SecretFile {
  readonly variable: string;
  readonly value: Buffer;
}

/** The directory at `--dir` is not the one this run prepared any more: nothing is written through it. */
export class DirectoryChangedError extends KmsSecretsError {}

interface Identity {
  readonly dev: bigint;
  readonly ino: bigint;
}

/** What one step of a swap changed, and how to take it back. */
interface Step {
  readonly path: string;
  /** The previous file, hard-linked aside (the same inode under a temp name); none when there was no file. */
  readonly aside: string | undefined;
}

export class SecretDirectory {
  /**
   * Makes `dir` (0700, not a symbolic link) and removes the temp files a killed run left in it (each holds a
   * value), then holds the result to that directory's identity.
   */
  static async prepare(dir: string): Promise<SecretDirectory> {
    const existing = await lstat(dir).catch(() => undefined);
    if (existing?.isSymbolicLink()) {
      throw new KmsSecretsError(`--dir ${dir} is a symbolic link: the files and the 0700 mode would land wherever it points`, {
        hint: 'give the directory itself (the volume\'s mount point)',
      });
    }
    if (existing && !existing.isDirectory()) throw new KmsSecretsError(`--dir ${dir} exists and is not a directory`);
    try {
      makeDirectory(dir, SECRET_DIR_MODE);
      // O_NOFOLLOW: a link swapped in since the lstat above fails here instead of being followed.
      const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
      let identity: Identity;
      try {
        // A volume's mount point exists before we run, with the volume's mode: make it ours alone (fchmod, on the handle).
        await handle.chmod(SECRET_DIR_MODE);
        identity = await handle.stat({ bigint: true });
      } finally {
        await handle.close();
      }
      const directory = new SecretDirectory(dir, { dev: identity.dev, ino: identity.ino });
      await directory.verify();
      for (const name of await readdir(dir)) {
        if (isStrayTempFile(name)) await unlink(join(dir, name));
      }
      return directory;
    } catch (error) {
      if (error instanceof DirectoryChangedError) throw error;
      throw new KmsSecretsError(`cannot prepare ${dir} for the secret files: ${(error as Error).message}`, { hint: WRITABLE_HINT });
    }
  }

  private constructor(readonly path: string, private readonly identity: Identity) {}

  /**
   * Writes `files` (mode 0400) and removes the files named in `removed`, all or nothing; returns the paths
   * written. Every new file is written in full as a temp file first; only then are they renamed into place,
   * each replaced file first hard-linked aside, and then the removed files renamed aside. If any step fails,
   * the steps done are taken back (the old files renamed back, the added ones removed) and this throws.
   *
   * What a reader can observe: rename is atomic per file, not across files. Each file it opens is whole, old
   * or new, and a replaced file is never missing (it is replaced by a rename, not removed first). But while
   * the set is swapped in (one rename per file), a reader that opens several files can find some already new
   * and some still old, and when a check fails part-way it can see a file turn new and then old again. Once
   * this returns or throws, the directory holds the whole new set or the whole old one. Only a kill
   * (SIGKILL, power loss) during the swap leaves a mix; the next start removes the files set aside and writes
   * every secret again.
   *
   * No temp file, each a value, outlives the call: the staged files and the old ones set aside are removed
   * before it returns or throws. (If --dir is swapped while it runs, those left in the directory that was
   * there stay in it: 0400 in a 0700 directory of this user, like the secret files themselves.)
   */
  async replace(files: readonly SecretFile[], removed: readonly string[] = []): Promise<string[]> {
    const ordered = [...files].sort((a, b) => (a.variable < b.variable ? -1 : a.variable > b.variable ? 1 : 0));
    const written = new Set(ordered.map((file) => file.variable));
    const staged: StagedFile[] = [];
    const asides: string[] = [];
    const done: Step[] = [];
    try {
      await this.verify();
      try {
        for (const file of ordered) staged.push(await stageFile(join(this.path, file.variable), file.value, { mode: SECRET_FILE_MODE }));
      } catch (error) {
        // fs messages name the path and the errno, never the content.
        throw new KmsSecretsError(`cannot write the secret files in ${this.path}, so every file stays as it was: ${(error as Error).message}`, { hint: WRITABLE_HINT });
      }
      try {
        for (const file of staged) {
          await this.verify();
          const existing = await lstat(file.path).catch(() => undefined);
          if (existing && !existing.isFile()) throw new Error(`${file.path} exists and is not a file`);
          const aside = existing ? this.asidePath(file.path) : undefined;
          if (aside) {
            await link(file.path, aside);
            asides.push(aside);
          }
          await rename(file.temp, file.path);
          done.push({ path: file.path, aside });
        }
        for (const variable of removed.filter((name) => !written.has(name))) {
          await this.verify();
          const path = join(this.path, variable);
          if (!(await lstat(path).catch(() => undefined))?.isFile()) continue; // already gone, or not ours to remove
          const aside = this.asidePath(path);
          await rename(path, aside);
          asides.push(aside);
          done.push({ path, aside });
        }
        await this.sync();
      } catch (error) {
        throw await this.takeBack(done, error);
      }
      return staged.map((file) => file.path);
    } finally {
      await Promise.all(staged.map((file) => file.discard()));
      await Promise.all(asides.map((aside) => unlink(aside).catch(() => undefined)));
    }
  }

  /** Throws DirectoryChangedError unless the path names the directory prepared, its last component not a link. */
  private async verify(): Promise<void> {
    const now = await lstat(this.path, { bigint: true }).catch((error: NodeJS.ErrnoException) => error);
    let what: string;
    if (now instanceof Error) what = `it is gone (${now.code ?? now.message})`;
    else if (now.isSymbolicLink()) what = 'it is now a symbolic link';
    else if (now.dev !== this.identity.dev || now.ino !== this.identity.ino) what = `it is now another ${now.isDirectory() ? 'directory' : 'file'}`;
    else return;
    throw new DirectoryChangedError(`--dir ${this.path} is no longer the directory this sidecar prepared: ${what}; nothing is written through it`, {
      hint: 'something replaced the directory after the sidecar started: restart the task',
    });
  }

  /** Makes the renames durable (the directory entries live in the directory's own blocks), on the directory prepared. */
  private async sync(): Promise<void> {
    const handle = await open(this.path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  /** A name a killed run's cleanup recognises (isStrayTempFile): a set-aside file holds a value too. */
  private asidePath(path: string): string {
    return join(this.path, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  }

  /** Undoes `done`, last step first, and returns the error to throw: what failed, and whether the old set is back. */
  private async takeBack(done: readonly Step[], error: unknown): Promise<KmsSecretsError> {
    const cause = (error as Error).message;
    if (error instanceof DirectoryChangedError) {
      // Undoing by path would act wherever the path now points.
      const mixed = done.length > 0 ? ` (the files this check had already renamed into place stay in the directory that was there)` : '';
      return new DirectoryChangedError(`${cause}${mixed}`, { hint: error.hint });
    }
    const notRestored: string[] = [];
    for (const step of [...done].reverse()) {
      try {
        await this.verify();
        if (step.aside) await rename(step.aside, step.path);
        else await unlink(step.path);
      } catch (undoError) {
        notRestored.push(`${step.path} (${(undoError as NodeJS.ErrnoException).code ?? (undoError as Error).message})`);
      }
    }
    if (notRestored.length === 0) {
      return new KmsSecretsError(`cannot write the secret files in ${this.path}, so every file stays as it was: ${cause}`, { hint: WRITABLE_HINT });
    }
    return new KmsSecretsError(`cannot write the secret files in ${this.path}: ${cause}; and cannot put back ${notRestored.join(', ')}, so the directory may hold some new files and some old`, {
      hint: WRITABLE_HINT,
    });
  }
}
