/**
 * The runtime bundle's commands (`npm run build:runtime` → dist/kms-secrets-runtime.mjs): only `exec` and
 * `write`, so an image needs nothing but `node` and that file. runtime/bundle-entry.ts runs `main`.
 */
import { EXIT_USAGE, execCommand, writeCommand } from './cli.ts';

const COMMANDS: Record<string, (args: readonly string[]) => Promise<number>> = { exec: execCommand, write: writeCommand };
const USAGE = 'usage: kms-secrets-runtime.mjs exec [options] -- <command> [args…]\n'
  + '       kms-secrets-runtime.mjs write --dir <dir> [options]\n'
  + '       kms-secrets-runtime.mjs code-cache   (once, where the image is built: a faster start with this node)\n';

/** Runs the command named by `argv[0]`; resolves to the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  const command = name ? COMMANDS[name] : undefined;
  if (command) return command(args);
  process.stderr.write(name ? `kms-secrets: unknown command "${name}"\n${USAGE}` : USAGE);
  return EXIT_USAGE;
}
