import { defineConfig } from 'vitest/config';
import { TEST_EXECUTABLE } from './test/support/executable.ts';
import { NODE_24 } from './test/support/node-versions.ts';

export default defineConfig({
  test: {
    setupFiles: ['test/setup.ts'],
    pool: 'forks',
    // Three workers on two cores: the Terraform files mostly wait (the AWS provider polls a new lifecycle rule for
    // a minute, KMS's key-policy check for two), so a third file runs in the time they leave (docs/development.md).
    maxWorkers: 3,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      // Node 24 for the runtime below and for CDK Terrain (test/terraform/cdk-terrain.test.ts); provider 6.x bindings to type-check.
      { extends: true, test: { name: 'all', include: ['test/**/*.test.ts'], globalSetup: ['test/global-setup-temp.ts', 'test/global-setup-node.ts', 'test/global-setup-provider-aws-6.ts'] } },
      // The runtime once more, run by the current LTS Node, where exec becomes the command (execve).
      {
        extends: true,
        test: { name: 'runtime-on-node-24', include: ['test/runtime/**/*.test.ts'], exclude: ['test/runtime/executable.test.ts'], globalSetup: ['test/global-setup-node.ts'], env: { KMS_SECRETS_TEST_NODE: NODE_24 } },
      },
      // And against the standalone executable (bun), for images without Node; the bundle's and the
      // in-process library's own tests and the examples' file checks do not concern it.
      {
        extends: true,
        test: {
          name: 'runtime-executable',
          include: ['test/runtime/**/*.test.ts'],
          exclude: ['test/runtime/{bundle,executable,library,examples}.test.ts'],
          globalSetup: ['test/global-setup-executable.ts'],
          env: { KMS_SECRETS_TEST_EXECUTABLE: TEST_EXECUTABLE },
        },
      },
    ],
  },
});
