/** `kms-secrets list`: what the tree holds, read from the files and git alone — no KMS call, no decryption. */
import { relative, sep } from 'node:path';
import { parseArguments } from '../../lib/arguments.ts';
import { findProjectRoot } from '../../lib/project-root.ts';
import { loadSettings } from '../../lib/settings.ts';
import { SECRETS_DIR, type SecretFile } from '../../lib/tree.ts';
import { lastChangeDates } from '../git-dates.ts';
import { chooseEnv, ENV_OPTION, secretsInScope } from '../options.ts';
import type { Command } from './index.ts';

const USAGE = `usage: kms-secrets list [--env E]

A table of every secret (of env E, or of every env without --env): env, service, secret, the environment
variable the app sees, ciphertext format, size in bytes, and the date of the last commit that changed it
("-" when it was never committed). Reads files and git only: no AWS call, no decryption.
`;

const HEADINGS = ['ENV', 'SERVICE', 'SECRET', 'VARIABLE', 'FORMAT', 'SIZE', 'CHANGED'] as const;
const RIGHT_ALIGNED = new Set(['SIZE']);

export const list: Command = {
  summary: 'table of secrets: env, service, name, variable, format, size, last git change (no AWS call)',
  async run(args) {
    const { values } = parseArguments({ args: [...args], options: { ...ENV_OPTION, help: { type: 'boolean', short: 'h' } } }, USAGE);
    if (values.help) {
      process.stdout.write(USAGE);
      return 0;
    }
    const projectRoot = findProjectRoot();
    const settings = loadSettings(projectRoot);
    // SECRETS_ENV does not narrow the list: without --env, list shows everything.
    const env = values.env === undefined ? undefined : chooseEnv(projectRoot, settings, values.env).env;
    const files = await secretsInScope(projectRoot, settings, env);
    if (files.length === 0) {
      process.stdout.write(env === undefined ? `no secrets under ${SECRETS_DIR}/ yet\n` : `no secrets in env ${env} yet\n`);
      return 0;
    }
    const dates = lastChangeDates(projectRoot, env === undefined ? SECRETS_DIR : `${SECRETS_DIR}/${env}`);
    const rows = files.map((file) => row(file, dates.get(projectPath(projectRoot, file)) ?? '-'));
    process.stdout.write(table([[...HEADINGS], ...rows]));
    return 0;
  },
};

function row(file: SecretFile, changed: string): string[] {
  return [file.env, file.service, file.name, file.envVar, file.format, String(file.size), changed];
}

function projectPath(projectRoot: string, file: SecretFile): string {
  return relative(projectRoot, file.path).split(sep).join('/');
}

function table(rows: readonly string[][]): string {
  const widths = HEADINGS.map((_, column) => Math.max(...rows.map((cells) => cells[column]!.length)));
  return rows
    .map((cells) => cells
      .map((cell, column) => (RIGHT_ALIGNED.has(HEADINGS[column]!) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd())
    .join('\n') + '\n';
}
