// The CDKTF app: one stack per directory in secrets/, each with its own state.
import { App } from 'cdktf';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSettings } from './lib/settings.ts';
import { loadSecretsTree } from './lib/tree.ts';
import { EnvironmentStack } from './stacks/environment-stack.ts';

const projectRoot = dirname(fileURLToPath(import.meta.url));
const settings = loadSettings(projectRoot);
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
