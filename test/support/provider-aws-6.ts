/**
 * AWS provider 6.x bindings for CDK Terrain (`@cdktn/provider-aws`), to type-check and synthesize the stacks
 * against provider 6 (no 6.x provider binary is on these machines: nothing is planned with them). Installed into
 * .cache/ by the test run (test/global-setup-provider-aws-6.ts) without their peer `cdktn`, so that they load the
 * project's own cdktn: one core, as in an app.
 */
import { join } from 'node:path';

export const PROVIDER_AWS_6_VERSION = '25.7.0';
export const PROVIDER_AWS_6_PREFIX = join(import.meta.dirname, '..', '..', '.cache', `provider-aws-${PROVIDER_AWS_6_VERSION}`);
export const PROVIDER_AWS_6 = join(PROVIDER_AWS_6_PREFIX, 'node_modules', '@cdktn', 'provider-aws');
