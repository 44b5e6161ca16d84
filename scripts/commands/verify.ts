/** `kms-secrets verify`: checks the secrets tree, for CI and a pre-commit hook; exit 1 lists every problem. */
import { parseArguments } from '../../lib/arguments.ts';
import { SecretsTreeError } from '../../lib/errors.ts';
import { findProjectRoot } from '../../lib/project-root.ts';
import { loadSettings } from '../../lib/settings.ts';
import { scanSecretsTree } from '../../lib/tree.ts';
import type { Command } from './index.ts';

const USAGE = 'usage: kms-secrets verify\n\nChecks every file under secrets/<env>/<service>/<name>; exits 1 listing each problem.\n';

export const verify: Command = {
  summary: 'check secrets/: layout, names, ciphertext headers, collisions (no AWS call)',
  async run(args) {
    const { values } = parseArguments({ args: [...args], options: { help: { type: 'boolean', short: 'h' } } }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const projectRoot = findProjectRoot();
    const tree = await scanSecretsTree(projectRoot, loadSettings(projectRoot));
    if (tree.problems.length > 0) throw new SecretsTreeError(tree.problems);
    const services = new Set(tree.files.map((file) => `${file.env}/${file.service}`));
    process.stdout.write(
      `secrets tree OK: ${tree.files.length} secret${tree.files.length === 1 ? '' : 's'} in ${services.size} service${services.size === 1 ? '' : 's'} ` +
      `of ${tree.environments.length} environment${tree.environments.length === 1 ? '' : 's'} (${tree.environments.join(', ') || 'none'})\n`,
    );
    return 0;
  },
};
