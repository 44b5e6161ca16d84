/**
 * Tests that need Terraform run for real. Where it is absent they skip loudly, except in CI (CI=true),
 * where a missing Terraform fails the run instead of silently passing it.
 */
import { spawnSync } from 'node:child_process';
import { describe } from 'vitest';

/**
 * The time limit of every test that runs Terraform or cdktf: only there to end a hang. A busy machine makes
 * Terraform slow (the provider's polling, the plugin's start), and a test must not fail for that.
 */
export const TERRAFORM_TIMEOUT_MS = 15 * 60_000;

export function terraformAvailable(): boolean {
  return spawnSync('terraform', ['version'], { stdio: 'ignore' }).status === 0;
}

/** `describe` that runs only where Terraform is on PATH; in CI its absence is an error. */
export function describeWithTerraform(name: string, body: () => void): void {
  if (terraformAvailable()) {
    describe(name, body);
    return;
  }
  if (process.env.CI === 'true') throw new Error(`Terraform is not on PATH, and CI must run "${name}"; install Terraform >= 1.10`);
  console.warn(`\n*** SKIPPED "${name}": Terraform is not on PATH. Install Terraform >= 1.10 to run these tests. ***\n`);
  describe.skip(name, body);
}

/** The process environment with every AWS credential and endpoint removed: Terraform gets no AWS access. */
export function envWithoutAws(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('AWS_')));
  return { ...env, AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', AWS_EC2_METADATA_DISABLED: 'true', ...extra };
}
