/**
 * `npm run build:executable [-- <target>…]`: the runtime as one standalone executable per target,
 * dist/kms-secrets-runtime-<target>, for images without Node (a Go, Python or Java app). bun compiles
 * runtime/executable-entry.ts with its engine and the code as bytecode; it fetches another platform's
 * engine from the npm registry the first time. The executables need glibc (Debian, Ubuntu, distroless/cc);
 * on Alpine use the `-musl` targets.
 */
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, renameSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KmsSecretsError } from '../lib/errors.ts';
import { PACKAGE_VERSION } from './build.ts';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export const EXECUTABLE_TARGETS = ['linux-x64', 'linux-arm64', 'linux-x64-musl', 'linux-arm64-musl'] as const;
export type ExecutableTarget = (typeof EXECUTABLE_TARGETS)[number];
/** What `npm run build:executable` builds when no target is named. */
export const DEFAULT_TARGETS: readonly ExecutableTarget[] = ['linux-x64', 'linux-arm64'];

export function executablePath(target: ExecutableTarget): string {
  return join(REPO_ROOT, 'dist', `kms-secrets-runtime-${target}`);
}

/** The target this machine runs, where it is one. */
export function hostTarget(): ExecutableTarget | undefined {
  const target = `${process.platform}-${process.arch}`;
  return EXECUTABLE_TARGETS.find((t) => t === target);
}

/** Compiles the executable for `target` to `outfile` (written whole, then renamed into place). */
export function buildRuntimeExecutable(target: ExecutableTarget, outfile: string = executablePath(target)): string {
  return compileExecutable(join(REPO_ROOT, 'runtime', 'executable-entry.ts'), target, outfile);
}

/** Compiles `entry` and what it imports, with bun's engine for `target`, into one executable at `outfile`. */
export function compileExecutable(entry: string, target: ExecutableTarget, outfile: string): string {
  makeFolder(dirname(outfile), outfile);
  const temp = `${outfile}.${process.pid}.tmp`;
  execFileSync(bunBinary(), [
    'build', entry,
    '--compile', '--bytecode', '--minify', `--target=bun-${target}`,
    '--define', `KMS_SECRETS_VERSION=${JSON.stringify(PACKAGE_VERSION)}`,
    '--outfile', temp,
  ], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  renameSync(temp, outfile);
  return outfile;
}

/** The folder the executable goes to, created as needed; a file where a folder must be is named, with what to do. */
function makeFolder(folder: string, outfile: string): void {
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EEXIST' && code !== 'ENOTDIR') throw error;
    // The nearest path on the way that exists: the file that stopped mkdir.
    let blocking = folder;
    while (!statSync(blocking, { throwIfNoEntry: false })) blocking = dirname(blocking);
    throw new KmsSecretsError(`cannot write ${outfile}: ${blocking} is a file, not a folder; nothing was built`, {
      hint: `move or remove the file ${blocking}, then build again`,
    });
  }
}

/** bun from the npm package: its bin, or the platform package's binary where npm did not run bun's install script. */
function bunBinary(): string {
  const require = createRequire(import.meta.url);
  const platformPackage = `@oven/bun-${process.platform}-${process.arch === 'arm64' ? 'aarch64' : process.arch}`;
  const candidates = [
    () => join(dirname(require.resolve('bun/package.json')), 'bin', 'bun.exe'),
    () => join(dirname(require.resolve(`${platformPackage}/package.json`)), 'bin', 'bun'),
  ];
  for (const candidate of candidates) {
    try {
      const file = candidate();
      accessSync(file, constants.X_OK);
      execFileSync(file, ['--version'], { stdio: 'ignore' });
      return file;
    } catch {
      // not installed, or a placeholder: the next one
    }
  }
  throw new Error('bun is not installed: run npm ci (bun is a devDependency, its binary comes from @oven/bun-<platform>)');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const named = process.argv.slice(2);
  const unknown = named.filter((t) => !(EXECUTABLE_TARGETS as readonly string[]).includes(t));
  if (unknown.length > 0) {
    process.stderr.write(`unknown target ${unknown.join(', ')}: the targets are ${EXECUTABLE_TARGETS.join(', ')}\n`);
    process.exit(2);
  }
  try {
    for (const target of named.length > 0 ? named as ExecutableTarget[] : DEFAULT_TARGETS) {
      process.stdout.write(`${buildRuntimeExecutable(target)}\n`);
    }
  } catch (error) {
    if (!(error instanceof KmsSecretsError)) throw error;
    process.stderr.write(`build:executable: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    process.exit(1);
  }
}
