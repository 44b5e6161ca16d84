/** Installs the AWS provider 6.x bindings (test/support/provider-aws-6.ts) once, before the tests that read them. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PROVIDER_AWS_6, PROVIDER_AWS_6_PREFIX, PROVIDER_AWS_6_VERSION } from './support/provider-aws-6.ts';

export default function setup(): void {
  if (existsSync(join(PROVIDER_AWS_6, 'package.json'))) return;
  process.stderr.write(`installing @cdktn/provider-aws@${PROVIDER_AWS_6_VERSION} into ${PROVIDER_AWS_6_PREFIX} for the provider 6 type-check\n`);
  execFileSync('npm', [
    'install', '--prefix', PROVIDER_AWS_6_PREFIX, '--no-save', '--no-package-lock', '--legacy-peer-deps', '--ignore-scripts',
    '--no-audit', '--no-fund', '--loglevel=error', `@cdktn/provider-aws@${PROVIDER_AWS_6_VERSION}`,
  ], { stdio: 'inherit' });
}
