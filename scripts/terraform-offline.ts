/**
 * Runs Terraform (through cdktf) offline from a filesystem mirror of the AWS provider: a CLI config whose provider_installation uses the mirror and excludes direct downloads.
 * The mirror is taken from TF_PROVIDER_MIRROR (or none, with TF_PROVIDER_MIRROR=none), or discovered; it is
 * never hard-coded in the project.
 */
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { createReadStream, existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const AWS_PROVIDER_VERSION = '5.100.0';
const PROVIDER_PATH = join('registry.terraform.io', 'hashicorp', 'aws', AWS_PROVIDER_VERSION);

/** Folders where a provider mirror usually lives; each is searched a few levels deep. */
function candidateRoots(): string[] {
  return ['/opt', '/usr/local/share/terraform', '/usr/share/terraform', join(homedir(), '.terraform.d', 'plugins'),
    join(homedir(), '.local', 'share', 'terraform', 'plugins')];
}

/** The mirror root (the folder that holds registry.terraform.io/…), or undefined when there is none. */
export function findProviderMirror(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.TF_PROVIDER_MIRROR;
  // "none": the registry only, even where a mirror is installed.
  if (configured === 'none') return undefined;
  if (configured) {
    if (!existsSync(join(configured, PROVIDER_PATH))) {
      throw new Error(`TF_PROVIDER_MIRROR=${configured} holds no ${PROVIDER_PATH}; point it at the folder above registry.terraform.io/`);
    }
    return resolve(configured);
  }
  for (const root of candidateRoots()) {
    const found = searchMirror(root, 3);
    if (found) return found;
  }
  return undefined;
}

function searchMirror(dir: string, depth: number): string | undefined {
  if (!existsSync(dir)) return undefined;
  if (existsSync(join(dir, PROVIDER_PATH))) return dir;
  if (depth === 0) return undefined;
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'plugin-cache' && !e.name.startsWith('.'))
      .map((e) => e.name);
  } catch {
    return undefined;
  }
  for (const name of entries) {
    const found = searchMirror(join(dir, name), depth - 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Environment for running terraform/cdktf offline: writes a CLI config file in `workDir` and returns
 * the variables to add. Returns undefined when no mirror is found (then Terraform uses the registry).
 */
export function offlineTerraformEnv(workDir: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  const mirror = findProviderMirror(env);
  if (!mirror) return undefined;
  const configFile = join(workDir, 'terraform-offline.tfrc');
  mkdirSync(dirname(configFile), { recursive: true });
  writeFileSync(configFile, [
    'provider_installation {',
    `  filesystem_mirror {`,
    `    path    = ${JSON.stringify(mirror)}`,
    `    include = ["registry.terraform.io/hashicorp/*"]`,
    '  }',
    '  direct {',
    '    exclude = ["registry.terraform.io/hashicorp/*"]',
    '  }',
    '}',
    '',
  ].join('\n'));
  return { TF_CLI_CONFIG_FILE: configFile, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
}

/**
 * Lets Terraform run in `stackDir` find the provider in `mirror` without any CLI config: terraform.d/plugins
 * in Terraform's working folder is one of its implied local mirror folders (used for the providers it holds,
 * with the registry for the rest).
 */
export function linkProviderMirror(stackDir: string, mirror: string): void {
  const link = join(stackDir, 'terraform.d', 'plugins');
  try {
    if (readlinkSync(link) === mirror) return;
    rmSync(link, { force: true });
  } catch {
    // not there yet
  }
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(mirror, link);
}

/**
 * Plain `cdktf deploy` runs `terraform providers lock`, which asks the registry, whenever the stack's folder
 * has no lock file for the provider. Offline, the mirror is the lock: this writes the one `terraform init`
 * would write from it (the h1 hash of this platform's package in the mirror), where none exists yet.
 */
export async function writeProviderLock(stackDir: string, mirror: string): Promise<void> {
  const lockFile = join(stackDir, '.terraform.lock.hcl');
  const platform = `${process.platform}_${process.arch === 'x64' ? 'amd64' : process.arch}`;
  const packageDir = join(mirror, PROVIDER_PATH, platform);
  if (existsSync(lockFile) || !existsSync(packageDir)) return;
  mkdirSync(stackDir, { recursive: true });
  writeFileSync(lockFile, [
    '# This file is maintained automatically by "terraform init".',
    '# Manual edits may be lost in future updates.',
    '',
    'provider "registry.terraform.io/hashicorp/aws" {',
    `  version     = "${AWS_PROVIDER_VERSION}"`,
    `  constraints = "${AWS_PROVIDER_VERSION}"`,
    '  hashes = [',
    `    "${await packageHashV1(packageDir)}",`,
    '  ]',
    '}',
    '',
  ].join('\n'));
}

/** Terraform's "h1:" hash of an unpacked provider package (Go's dirhash.Hash1): SHA-256 over each file's SHA-256 and path, sorted. */
async function packageHashV1(dir: string): Promise<string> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
  const summary = createHash('sha256');
  for (const file of files) {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(join(dir, file))) hash.update(chunk as Buffer);
    summary.update(`${hash.digest('hex')}  ${file}\n`);
  }
  return `h1:${summary.digest('base64')}`;
}

/**
 * Where Terraform could get the provider from neither a mirror nor the registry, the one line to say so, for
 * the synth app to print before Terraform fails with a page of its own; undefined where all is well.
 */
export async function providerUnreachable(stackDirs: readonly string[], mirror: string | undefined): Promise<string | undefined> {
  if (mirror) return undefined;
  // Installed by an earlier init: Terraform reuses it without asking the registry.
  if (stackDirs.length === 0 || stackDirs.every((dir) => existsSync(join(dir, '.terraform', 'providers', PROVIDER_PATH)))) return undefined;
  const reachable = await Promise.race([
    lookup('registry.terraform.io').then(() => true, () => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2_000).unref()),
  ]);
  if (reachable) return undefined;
  return `kms-secrets: Terraform needs hashicorp/aws ${AWS_PROVIDER_VERSION}, and there is neither a provider mirror (TF_PROVIDER_MIRROR, /opt, ~/.terraform.d/plugins, …) `
    + 'nor a way to registry.terraform.io: install a filesystem mirror and set TF_PROVIDER_MIRROR to the folder above registry.terraform.io/';
}
