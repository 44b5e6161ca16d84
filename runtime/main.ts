/**
 * The entry of the single-file runtime bundle (`npm run build:runtime` → dist/kms-secrets-runtime.mjs):
 * only `exec` and `write`, so an image needs nothing but `node` and that file.
 */
import { EXIT_USAGE, execCommand, writeCommand } from './cli.ts';

const COMMANDS: Record<string, (args: readonly string[]) => Promise<number>> = { exec: execCommand, write: writeCommand };
const USAGE = 'usage: kms-secrets-runtime.mjs exec [options] -- <command> [args…]\n       kms-secrets-runtime.mjs write --dir <dir> [options]\n';

const [name, ...args] = process.argv.slice(2);
const command = name ? COMMANDS[name] : undefined;
if (command) {
  process.exitCode = await command(args);
} else {
  process.stderr.write(name ? `kms-secrets: unknown command "${name}"\n${USAGE}` : USAGE);
  process.exitCode = EXIT_USAGE;
}
