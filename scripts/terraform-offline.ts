/**
 * Runs Terraform (through cdktf) offline from a filesystem mirror of the AWS provider: a CLI config whose provider_installation uses the mirror and excludes direct downloads.
 * The mirror is taken from TF_PROVIDER_MIRROR, or discovered; it is never hard-coded in the project.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
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
