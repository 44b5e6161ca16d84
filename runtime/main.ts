/**
 * The runtime's commands, as the bundle (`npm run build:runtime` → dist/kms-secrets-runtime.mjs) and the
 * standalone executable (`npm run build:executable`) run them: only `exec` and `write`, so an image needs
 * nothing else. runtime/bundle-entry.ts and runtime/executable-entry.ts run `main`.
 */
import { EXIT_USAGE, execCommand, writeCommand } from './cli.ts';
import { replacesItself } from './replace.ts';

const COMMANDS: Record<string, (args: readonly string[]) => Promise<number>> = { exec: execCommand, write: writeCommand };

const usage = (program: string) => `usage: ${program} exec [options] -- <command> [args…]\n`
  + `       ${program} write --dir <dir> [options]\n`
  + `       ${program} --version   (the runtime it runs on, and whether exec replaces itself with the command)\n`;
export const BUNDLE_USAGE = usage('kms-secrets-runtime.mjs')
  + '       kms-secrets-runtime.mjs code-cache   (once, where the image is built: a faster start with this node)\n';
export const EXECUTABLE_USAGE = usage('kms-secrets-runtime');

/** Runs the command named by `argv[0]`; resolves to the exit code. */
export async function main(argv: readonly string[], help = BUNDLE_USAGE): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version') {
    process.stdout.write(`${versionLine()}\n`);
    return 0;
  }
  if (name === '--help' || name === '-h') {
    process.stdout.write(`${help}Run <command> --help for its options.\n`);
    return 0;
  }
  const command = name ? COMMANDS[name] : undefined;
  if (command) return command(args);
  process.stderr.write(name ? `kms-secrets: unknown command "${name}"\n${help}` : help);
  return EXIT_USAGE;
}

/** Which engine runs the runtime, and so how `exec` starts the command. */
function versionLine(): string {
  const bun = (process.versions as { bun?: string }).bun;
  const engine = bun ? `bun ${bun}` : `Node.js ${process.version}`;
  const exec = replacesItself() ? 'exec replaces itself with the command (except as PID 1)' : 'exec runs the command as its child';
  return `kms-secrets-runtime ${RUNTIME_VERSION} on ${engine}: ${exec}`;
}

/** Set by the builds from package.json; the sources run under tsx have none. */
declare const KMS_SECRETS_VERSION: string | undefined;
const RUNTIME_VERSION = typeof KMS_SECRETS_VERSION === 'string' ? KMS_SECRETS_VERSION : 'development';
