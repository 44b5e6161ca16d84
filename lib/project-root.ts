/**
 * The project a command acts on, found as git finds its repository: the working directory or the nearest
 * directory above it that holds the settings (kms-secrets.json) or the cdktf app (cdktf.json). So a
 * command run inside secrets/staging/api acts on the project, not on a secrets/ below that folder.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const MARKERS = ['kms-secrets.json', 'cdktf.json'];

/** The project root for `start`; `start` itself when no directory above it is a project. */
export function findProjectRoot(start: string = process.cwd()): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (MARKERS.some((marker) => existsSync(join(dir, marker)))) return dir;
    if (dirname(dir) === dir) return resolve(start);
  }
}
