/**
 * The secrets tree: secrets/<env>/<service>/<name>, ciphertext only. Reading it checks every rule and
 * collects every problem, so `verify` can list them all and the stack refuses to synthesize a bad tree.
 */
import { closeSync, lstatSync, openSync, readSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { glob, type Path } from 'glob';
import { SecretsTreeError, type TreeProblem } from './errors.ts';
import { detectFormat, FORMAT_HEADERS, type CiphertextFormat } from './formats.ts';
import { loaderVariableProblem } from './loader-variables.ts';
import { envOrServiceProblem, envVarName, secretNameProblem, type SecretRef } from './naming.ts';
import { printable } from './printable.ts';
import type { Settings } from './settings.ts';

export const SECRETS_DIR = 'secrets';

/** One ciphertext file of the tree. */
export interface SecretFile extends SecretRef {
  /** Absolute path of the file. */
  readonly path: string;
  /** The environment variable the runtime exposes it as. */
  readonly envVar: string;
  readonly format: CiphertextFormat;
  readonly size: number;
}

export interface SecretsTree {
  /** Every environment directory, sorted, including those that hold no secret yet. */
  readonly environments: readonly string[];
  /** Every valid secret file, sorted by env, service, name. */
  readonly files: readonly SecretFile[];
  readonly problems: readonly TreeProblem[];
}

const HEADER_BYTES = 8;

/** Reads and checks the tree under `<projectRoot>/secrets`; problems are returned, not thrown. */
export async function scanSecretsTree(projectRoot: string, settings: Settings): Promise<SecretsTree> {
  const root = join(projectRoot, SECRETS_DIR);
  // glob would read through a symbolic link at the root (or find nothing in it): the tree must be the repository's own.
  if (lstatSync(root, { throwIfNoEntry: false })?.isSymbolicLink()) {
    return { environments: [], files: [], problems: [{ file: SECRETS_DIR, rule: 'a symbolic link; secrets/ must be a directory of the repository itself' }] };
  }
  const entries = await glob('**', { cwd: root, dot: true, follow: false, withFileTypes: true, stat: true });
  const display = (p: Path) => printable(relative(projectRoot, p.fullpath()).split(sep).join('/'));
  const problems: TreeProblem[] = [];
  const environments = new Set<string>();
  const files: SecretFile[] = [];

  for (const entry of entries) {
    const parts = entry.relative().split(sep).filter(Boolean);
    // Whatever lies inside a directory that breaks a rule is covered by that directory's problem.
    if (parts.length === 0 || parts.slice(0, -1).some((_, i) => directoryProblem(parts.slice(0, i + 1)))) continue;
    const file = display(entry);
    const problem = entryProblem(entry, parts);
    if (problem) {
      problems.push({ file, rule: problem });
      continue;
    }
    if (parts.length === 1) environments.add(parts[0]!);
    if (parts.length < 3) continue;
    const [env, service, name] = parts as [string, string, string];
    const format = readFormat(entry.fullpath());
    const loaderProblem = loaderVariableProblem(envVarName(name), settings.forEnv(env).allowLoaderVariables);
    if (loaderProblem) {
      problems.push({ file, rule: loaderProblem });
    } else if (entry.size === 0) {
      problems.push({ file, rule: 'the file is empty; encrypt the secret with `npm run encrypt`' });
    } else if (!format) {
      problems.push({ file, rule: `not ciphertext: it starts with none of the known headers (${FORMAT_HEADERS}); a plaintext file must never be here` });
    } else if (format === 'local' && !settings.forEnv(env).local) {
      problems.push({ file, rule: `local-endpoint ciphertext in env "${env}", which the settings do not mark as local ("local": true)` });
    } else {
      files.push({ env, service, name, path: entry.fullpath(), envVar: envVarName(name), format, size: entry.size ?? 0 });
    }
  }
  problems.push(...collisions(files));
  files.sort((a, b) => compare(a.env, b.env) || compare(a.service, b.service) || compare(a.name, b.name));
  problems.sort((a, b) => compare(a.file, b.file));
  return { environments: [...environments].sort(), files, problems };
}

/** Like scanSecretsTree, but a tree with problems is an error that lists them all. */
export async function loadSecretsTree(projectRoot: string, settings: Settings): Promise<SecretsTree> {
  const tree = await scanSecretsTree(projectRoot, settings);
  if (tree.problems.length > 0) throw new SecretsTreeError(tree.problems);
  return tree;
}

/** The rule a path breaks by its kind, place or name; content is checked separately. */
function entryProblem(entry: Path, parts: string[]): string | undefined {
  const name = parts[parts.length - 1]!;
  if (entry.isSymbolicLink()) return 'a symbolic link; only regular files and directories are allowed';
  if (name.startsWith('.')) return 'a dot-file; nothing hidden may live in secrets/';
  if (parts.length <= 2) {
    if (!entry.isDirectory()) return `a file at depth ${parts.length}; secrets live at secrets/<env>/<service>/<name>`;
    return directoryProblem(parts);
  }
  if (entry.isDirectory()) return 'a directory at the secret level; secrets live at secrets/<env>/<service>/<name>';
  if (!entry.isFile()) return 'not a regular file';
  return secretNameProblem(name);
}

/** The rule a directory at secrets/<parts…> breaks by its place or name. */
function directoryProblem(parts: string[]): string | undefined {
  const name = parts[parts.length - 1]!;
  if (name.startsWith('.')) return 'a dot-file; nothing hidden may live in secrets/';
  if (parts.length === 1) return envOrServiceProblem('env', name);
  if (parts.length === 2) return envOrServiceProblem('service', name);
  return 'a directory at the secret level; secrets live at secrets/<env>/<service>/<name>';
}

function readFormat(path: string): CiphertextFormat | undefined {
  const fd = openSync(path, 'r');
  try {
    const header = Buffer.alloc(HEADER_BYTES);
    const read = readSync(fd, header, 0, HEADER_BYTES, 0);
    return detectFormat(header.subarray(0, read));
  } finally {
    closeSync(fd);
  }
}

/** The rule two secrets of one service break when they map to the same variable (db_password next to db-password). */
export function collisionRule(variable: string, other: string): string {
  return `maps to ${variable}, like ${other} in the same service; rename one of them`;
}

/** Two secrets of one service that map to the same environment variable. */
function collisions(files: readonly SecretFile[]): TreeProblem[] {
  const seen = new Map<string, SecretFile>();
  const problems: TreeProblem[] = [];
  for (const file of [...files].sort((a, b) => compare(a.path, b.path))) {
    const key = `${file.env}/${file.service}/${file.envVar}`;
    const first = seen.get(key);
    if (first) {
      problems.push({
        file: `${SECRETS_DIR}/${file.env}/${file.service}/${file.name}`,
        rule: collisionRule(file.envVar, first.name),
      });
    } else {
      seen.set(key, file);
    }
  }
  return problems;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
