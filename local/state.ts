/**
 * State files of the local endpoint. Every file is written whole to a temporary name and renamed, so a
 * crash leaves the old or the new content, never half of one. Files are mode 0600 and the folder 0700:
 * key material and issued session credentials live here.
 */
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function writeFileAtomic(path: string, data: string | Buffer): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, data, { mode: 0o600 });
  chmodSync(temp, 0o600); // writeFileSync keeps the mode of an existing leftover temp file
  renameSync(temp, path);
}

/** One service's state as a single JSON document, saved after every change. */
export class JsonStore<T> {
  readonly data: T;
  private readonly path: string;

  constructor(dir: string, name: string, initial: () => T) {
    this.path = join(dir, `${name}.json`);
    this.data = existsSync(this.path) ? (JSON.parse(readFileSync(this.path, 'utf8')) as T) : initial();
  }

  save(): void {
    writeFileAtomic(this.path, JSON.stringify(this.data));
  }
}

/** An append-only file of JSON lines: cheap per change when the state is large (S3 objects). */
export class Journal<T> {
  constructor(private readonly path: string) {}

  read(): T[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as T);
  }

  append(entry: T): void {
    appendFileSync(this.path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
  }

  /** Replaces the journal with the given entries, e.g. the live state after replaying it. */
  rewrite(entries: T[]): void {
    writeFileAtomic(this.path, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
  }
}
