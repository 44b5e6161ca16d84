/** Throw-away projects for tests: a secrets tree, optional settings, and optionally the CDKTF app itself. */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyApp } from '../../scripts/workspace.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Settings under which every env on AWS names its key administrator, as it must. */
export const ADMINISTERED = { defaults: { keyAdministrators: ['arn:aws:iam::111122223333:role/kms-admin'] } };

/** Ciphertext-shaped bytes with a real header, for tests that never decrypt. */
export function fakeCiphertext(format: 'kms' | 'envelope' | 'local' = 'kms', size = 64): Buffer {
  const header = {
    kms: Buffer.from([0x01, 0x02, 0x02, 0x00, 0x78]),
    envelope: Buffer.from([0x02, 0x04, 0x78]),
    local: Buffer.concat([Buffer.from('LKMS'), Buffer.from([0x01])]),
  }[format];
  return Buffer.concat([header, randomBytes(Math.max(1, size - header.length))]);
}

export interface TestProject {
  readonly root: string;
  write(relativePath: string, content: Buffer | string): string;
  remove(): void;
}

/**
 * KMS_SECRETS_TEST_TOOLCHAIN=cdktn runs the tests' projects under CDK Terrain: a kms-secrets.json that a test writes
 * without a "toolchain" gets that one (docs/development.md: the Terraform tests under CDK Terrain).
 */
const TEST_TOOLCHAIN = process.env.KMS_SECRETS_TEST_TOOLCHAIN;

function withTestToolchain(relativePath: string, content: Buffer | string): Buffer | string {
  if (!TEST_TOOLCHAIN || relativePath !== 'kms-secrets.json') return content;
  try {
    const settings = JSON.parse(String(content)) as Record<string, unknown>;
    if (typeof settings !== 'object' || settings === null || Array.isArray(settings) || 'toolchain' in settings) return content;
    return JSON.stringify({ toolchain: TEST_TOOLCHAIN, ...settings }, null, 2);
  } catch {
    return content; // a test of a broken settings file
  }
}

/** A temp project holding its settings (default: `{}`), `files` (paths relative to the project root) and, with `app`, main.ts and its sources. */
export function makeProject(options: { files?: Record<string, Buffer | string>; settings?: unknown; app?: boolean } = {}): TestProject {
  const root = mkdtempSync(join(tmpdir(), 'kms-secrets-test-'));
  const project: TestProject = {
    root,
    write(relativePath, content) {
      const path = join(root, relativePath);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, withTestToolchain(relativePath, content));
      return path;
    },
    remove: () => rmSync(root, { recursive: true, force: true }),
  };
  mkdirSync(join(root, 'secrets'), { recursive: true });
  // A project is a folder with settings (or a cdktf app): without any given, the defaults.
  project.write('kms-secrets.json', JSON.stringify(options.settings ?? {}, null, 2));
  for (const [path, content] of Object.entries(options.files ?? {})) project.write(path, content);
  if (options.app) copyApp(REPO_ROOT, root);
  return project;
}
