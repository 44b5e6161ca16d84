/**
 * `kms-secrets <command>`: one file per command under scripts/commands/. This file only
 * dispatches and turns errors into one clear line plus a hint, never a stack trace for a user mistake.
 */
import { KmsSecretsError, UsageError } from '../lib/errors.ts';
import { COMMANDS } from './commands/index.ts';

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`kms-secrets: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(args);
  } catch (error) {
    process.stderr.write(formatError(error));
    return error instanceof UsageError ? 2 : 1;
  }
}

export function formatError(error: unknown): string {
  if (error instanceof KmsSecretsError) {
    return `kms-secrets: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`;
  }
  // Unexpected errors keep their stack for a bug report; they carry no values (we never put any in errors).
  return `kms-secrets: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`;
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(10)} ${command.summary}`);
  return `usage: kms-secrets <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun kms-secrets <command> --help for a command's options.\n`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
