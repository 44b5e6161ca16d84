// The CDKTF app: one stack per directory in secrets/, each with its own state.
import { App } from 'cdktf';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KmsSecretsError } from './lib/errors.ts';
import { loadSettings } from './lib/settings.ts';
import { loadSecretsTree } from './lib/tree.ts';
import { EnvironmentStack } from './stacks/environment-stack.ts';

const projectRoot = dirname(fileURLToPath(import.meta.url));
const { settings, tree } = await load().catch((error: unknown) => {
  // A bad tree or settings file is the user's to fix: its message, not a stack trace in cdktf's output.
  if (!(error instanceof KmsSecretsError)) throw error;
  process.stderr.write(`kms-secrets: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
  process.exit(1);
});

async function load() {
  const settings = loadSettings(projectRoot);
  return { settings, tree: await loadSecretsTree(projectRoot, settings) };
}

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
