/**
 * The project a command acts on, found as git finds its repository: the working directory or the nearest
 * directory above it that holds the settings (kms-secrets.json) or the cdktf app (cdktf.json). So a
 * command run inside secrets/staging/api acts on the project, not on a secrets/ below that folder.
 *
 * Outside any project there is nothing to act on: a command there would report an empty tree as sound, or
 * encrypt into a secrets/ of whatever folder it was run in. A project starts with its settings file, which
 * may be `{}` (every setting has a default); a cdktf app (cdktf.json) is one already.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KmsSecretsError } from './errors.ts';

const MARKERS = ['kms-secrets.json', 'cdktf.json'];

/** The project root for `start`; a KmsSecretsError naming `start` when neither it nor a directory above it is a project. */
export function findProjectRoot(start: string = process.cwd()): string {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (MARKERS.some((marker) => existsSync(join(dir, marker)))) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new KmsSecretsError(`not inside a kms-secrets project: neither ${resolve(start)} nor any folder above it holds ${MARKERS.join(' or ')}`, {
    hint: `run it in your project; or make this folder one, with default settings: echo '{}' > ${MARKERS[0]}`,
  });
}
