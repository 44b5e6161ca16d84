// The CDKTF app: one stack per directory in secrets/, each with its own state.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KmsSecretsError } from './lib/errors.ts';
import { loadSettings } from './lib/settings.ts';
import { loadSecretsTree } from './lib/tree.ts';
import { useToolchainCore } from './lib/toolchain.ts';
import { findProviderMirror, linkProviderMirror, providerUnreachable, writeProviderLock } from './scripts/terraform-offline.ts';

const projectRoot = dirname(fileURLToPath(import.meta.url));

try {
  const settings = loadSettings(projectRoot);
  // The constructs load only after the core is chosen: under CDK Terrain, `cdktf` names cdktn from here on.
  useToolchainCore(settings.toolchain);
  const { App } = await import('cdktf');
  const { EnvironmentStack } = await import('./stacks/environment-stack.ts');
  const tree = await loadSecretsTree(projectRoot, settings);
  const app = new App();
  for (const env of tree.environments) {
    new EnvironmentStack(app, env, {
      env,
      settings: settings.forEnv(env),
      files: tree.files.filter((file) => file.env === env),
      projectRoot,
      terraformDir: join(app.outdir, 'stacks', env),
    });
  }
  app.synth();
  // Plain `cdktf plan|deploy` (or npx cdktf) offline: Terraform also takes providers from terraform.d/plugins
  // in the folder it runs in, so each stack's folder links to the provider mirror, where there is one.
  // And plain `cdktf deploy` locks providers from the registry unless a lock file exists: the mirror's.
  const mirror = findProviderMirror();
  for (const env of mirror ? tree.environments : []) {
    linkProviderMirror(join(app.outdir, 'stacks', env), mirror!);
    await writeProviderLock(join(app.outdir, 'stacks', env), mirror!);
  }
  // Neither a mirror nor the registry: one line first, before Terraform's page of "could not connect".
  const unreachable = await providerUnreachable(tree.environments.map((env) => join(app.outdir, 'stacks', env)), mirror);
  if (unreachable) process.stderr.write(`${unreachable}\n`);
} catch (error) {
  // A bad tree, settings file or env is the user's to fix: its message, not a stack trace in cdktf's output.
  if (!(error instanceof KmsSecretsError)) throw error;
  process.stderr.write(`kms-secrets: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
  process.exit(1);
}
